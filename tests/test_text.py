"""How questions are read: folding of scripts and variants, tokens, and typing slips."""

from __future__ import annotations

import pytest

from assistant.pipeline import Assistant
from assistant.roles import Role
from assistant.search.spelling import Speller
from assistant.text import fold, tokenize
from assistant.turn import TurnRequest


def test_scripts_variants_and_counted_numerals_fold_to_one_form() -> None:
    assert fold("大額存單一年期") == fold("大额存单1年期") == "大额存单1年期"
    assert fold("帳戶") == fold("账户")
    assert fold("航空哩程") == "航空里程"  # Taiwan's spelling of mileage


def test_a_folded_numeral_does_not_glue_onto_a_latin_word() -> None:
    assert tokenize("活期帳戶在你們ATM一天最多可以領多少錢？")[:4] == ["活期", "账户", "atm", "1"]


def test_tokens_handed_out_are_the_callers_own() -> None:
    tokens = tokenize("大额存单起存金额是多少")
    tokens.append("信用卡")
    assert "信用卡" not in tokenize("大额存单起存金额是多少")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("大额存丹最少要存多少", "大额存单最少要存多少"),
        ("银行卡丢了怎么挂矢", "银行卡丢了怎么挂失"),
        ("我是大学生能办你们的信用咔吗", "我是大学生能办你们的信用卡吗"),
        ("卡里还有没到期的定期，能销护吗", "卡里还有没到期的定期，能销户吗"),
        ("現金寶是什麼風險等級的理材", "現金寶是什麼風險等級的理财"),
        # 代 alone is common, but 薪易代 fell apart into three lone characters.
        ("薪易代申请要在你们行发工资吗", "薪易贷申请要在你们行发工资吗"),
    ],
)
def test_a_same_sounding_slip_is_read_as_the_word_the_documents_use(
    assistant: Assistant, typed: str, meant: str
) -> None:
    assert assistant.index.snapshot().speller.correct(typed) == meant


@pytest.mark.parametrize(
    "text",
    [
        "车龄有什么要求",  # 龄有 sounds like 另有, but 有 is a word of its own
        "外包人员能看到我的信息吗",  # 包 alone is common: 外保 would be a guess
        "大额存单提前支取的那部分利息怎么算",  # 的 is not a slip for 得
        "我理财到期的钱这算新增存款吗",  # 这 and 算 are two words, not a mistyped 折算
        "What is the rate?",
    ],
)
def test_correct_text_is_left_as_typed(assistant: Assistant, text: str) -> None:
    assert assistant.index.snapshot().speller.correct(text) == text


def test_only_words_used_in_at_least_two_passages_are_targets() -> None:
    speller = Speller({"挂失": 1, "存单": 5})
    assert speller.correct("怎么挂矢") == "怎么挂矢"
    assert speller.correct("大额存丹") == "大额存单"


def test_a_mistyped_question_finds_the_document_about_what_was_meant(
    assistant: Assistant,
) -> None:
    result = assistant.answer(TurnRequest(message="银行卡丢了怎么挂矢", role=Role.customer))
    assert result.grounded
    assert result.citations[0].doc_id == "proc-lost-card"
    # What was typed is what the turn records.
    assert result.question == "银行卡丢了怎么挂矢"


def test_a_citation_marker_arriving_in_pieces_stays_with_its_sentence():
    from assistant.text import sentences_in

    pieces = ["年利率", "1.20%", "。", "[", "1", "]", "提前", "支取", "。"]
    assert list(sentences_in(pieces)) == ["年利率1.20%。[1]", "提前支取。"]
