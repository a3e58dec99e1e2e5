"""The grounded extractive composer: quotes, cites, answers in the asker's language, and
declines rather than guesses."""

from __future__ import annotations

import pytest

from assistant.answer.composer import (
    AnswerLimits,
    Candidate,
    abbreviated,
    answers_amount,
    composed_of,
    crosses_scope,
    durations,
    offers_terms,
    render_row,
    select,
    sentence_units,
    spelled_out,
)
from assistant.pipeline import Assistant
from assistant.roles import Role
from assistant.search.glossary import Glossary
from assistant.text import subject_terms
from assistant.turn import TurnRequest
from tests.conftest import ROOT

# A short answer: three sentences within 420 characters (the default settings).
LIMITS = AnswerLimits(sentences=3, chars=420)
# The boundaries the bank's glossary names, read from knowledge/glossary.yaml.
SCOPES = Glossary.load(ROOT / "knowledge" / "glossary.yaml").opposed_scopes


def ask(assistant: Assistant, question: str, role: Role = Role.customer):  # type: ignore[no-untyped-def]
    return assistant.answer(TurnRequest(message=question, role=role))


def test_table_rows_are_read_against_their_header() -> None:
    units = sentence_units("| 期限 | 年利率 |\n| 1年 | 1.55% |\n| 3年 | 1.90% |")
    assert units == ["期限：1年，年利率：1.55%。", "期限：3年，年利率：1.90%。"]
    assert render_row(["", "金额"], ["甲", "20万元"]) == "甲，金额：20万元。"


def test_a_list_stays_with_the_sentence_that_introduces_it() -> None:
    units = sentence_units("利率如下：\n- 1年期：1.55%\n- 3年期：1.90%\n其他说明。")
    assert units == ["利率如下：1年期：1.55%；3年期：1.90%", "其他说明。"]


def test_selection_declines_below_the_support_floor() -> None:
    weak = [Candidate(0, 0, "无关的句子。", 0.2)]
    assert select(weak, 0.32, LIMITS) == []
    strong = [
        Candidate(1, 0, "乙。", 0.9),
        Candidate(0, 3, "甲二。", 0.8),
        Candidate(0, 1, "甲一。", 0.78),
        Candidate(2, 0, "丙。", 0.5),
    ]
    # Runners-up within 85% of the best; the best source first, each source in its own order.
    assert [c.text for c in select(strong, 0.32, LIMITS)] == ["乙。", "甲一。", "甲二。"]


def test_an_answer_quotes_its_source_and_cites_it(assistant: Assistant) -> None:
    result = ask(assistant, "大额存单起存金额是多少？")
    assert result.grounded
    assert "20万元" in result.answer and "[1]" in result.answer
    first = result.citations[0]
    assert (first.n, first.doc_id) == (1, "dep-large-cd-2026-01")
    assert first.title == "大额存单（2026年第一期）产品说明书"
    assert "起存金额为人民币20万元" in first.passage
    # Every citation marker in the text maps to a citation, and back.
    for citation in result.citations:
        assert f"[{citation.n}]" in result.answer


def test_every_quoted_sentence_comes_from_a_cited_passage(assistant: Assistant) -> None:
    result = ask(assistant, "稳盈90天理财的业绩比较基准是多少")
    assert result.grounded
    assert "2.30%-2.90%" in result.answer
    passages = " ".join(c.passage for c in result.citations)
    assert "2.30%-2.90%" in passages


def test_a_traditional_chinese_question_gets_a_traditional_answer(assistant: Assistant) -> None:
    result = ask(assistant, "大額存單起存金額是多少？")
    assert result.language == "zh-TW"
    assert result.citations[0].doc_id == "dep-large-cd-2026-01"
    assert "根據《" in result.answer and "萬元" in result.answer


def test_an_english_question_gets_an_english_answer(assistant: Assistant) -> None:
    result = ask(assistant, "What is the minimum amount for a large-denomination CD?")
    assert result.language == "en"
    assert result.answer.startswith("According to")
    assert "200,000" in result.answer
    assert result.citations[0].doc_id == "dep-large-cd-2026-01-en"


@pytest.mark.parametrize(
    "question",
    [
        "你们行有保险箱租赁业务吗？",
        "Do you offer safe deposit boxes?",
    ],
)
def test_it_declines_what_the_documents_do_not_answer(assistant: Assistant, question: str) -> None:
    result = ask(assistant, question)
    assert not result.grounded
    assert result.citations == []
    assert "95388" in result.answer
    assert ("Sorry" in result.answer) == (result.language == "en")


def test_each_source_document_is_introduced_once(assistant: Assistant) -> None:
    result = ask(assistant, "How do I report a lost debit card?")
    documents = {c.doc_id for c in result.citations}
    assert result.answer.count("According to") == len(documents)
    assert [c.n for c in result.citations] == list(range(1, len(result.citations) + 1))


def test_what_a_question_names_is_looked_for_in_its_long_and_short_forms() -> None:
    # Currencies, brands, years and English names are what a question is about.
    assert {"港币", "2027"} <= set(subject_terms("2027年港币大额存单利率"))
    assert {"usd", "private", "select"} <= set(subject_terms("Is Private Select sold in USD?"))
    # A passage may name them in parts, in a longer form, or spell an acronym out.
    assert composed_of("房贷利率", {"房贷", "利率"}) and not composed_of("美元", {"美", "万元"})
    assert abbreviated("车贷", "江澜汽车消费贷款产品说明") and not abbreviated("美元", "20万元")
    assert spelled_out("cd", "Large-Denomination Certificate of Deposit")
    assert not spelled_out("usd", "Large-Denomination Certificate of Deposit")


def test_a_question_of_how_much_needs_a_number_or_a_waiver() -> None:
    assert not answers_amount("养老金储蓄存款利率是多少", ["资金只能用于购买名录内的产品。"])
    assert answers_amount("利率是多少", ["一年期年利率1.15%。"])
    assert answers_amount("How much is the annual fee?", ["The annual fee is waived."])
    assert answers_amount("可以部分支取吗", ["不办理部分提前支取。"])


def test_a_term_reads_alike_in_chinese_and_english() -> None:
    assert durations("五年期整存整取") == durations("a 5-year deposit") == {("5", "year")}
    assert durations("3个月、1年、90天") == {("3", "month"), ("1", "year"), ("90", "day")}


def test_a_question_about_a_term_the_sheet_does_not_offer_is_not_answered_by_it() -> None:
    sheet = "存期：3个月期、6个月期、1年期、2年期、3年期。"
    assert offers_terms("大额存单3年期利率多少", sheet)
    assert not offers_terms("大额存单有5年期的吗", sheet)
    assert not offers_terms("Do you offer a 14-day notice deposit?", "1天通知、7天通知。")
    # Frequencies (一天最多取多少) and durations in passing do not name a variant.
    assert offers_terms("金卡ATM一天最多取多少", "单日累计取款限额5万元。")
    assert offers_terms("I held it for two years", sheet)


def test_an_answer_about_the_other_side_of_a_boundary_is_no_answer() -> None:
    domestic = "江澜借记卡（白金卡） 跨行ATM取款：境内跨行ATM取款不限次数，全部免收手续费。"
    assert crosses_scope("借记卡在国外ATM取钱手续费多少", domestic, SCOPES)
    abroad = "Can I use my credit card abroad?"
    assert crosses_scope(abroad, "It works at domestic merchants.", SCOPES)
    assert not crosses_scope("借记卡在境内ATM取钱手续费多少", domestic, SCOPES)
    # A sentence covering both sides answers either.
    assert not crosses_scope("信用卡在国外能用吗", "可在境内外带有银联标识的商户消费。", SCOPES)
    assert crosses_scope("信用卡年费多少", "借记卡免年费。", SCOPES)
    assert not crosses_scope("信用卡和借记卡年费有什么区别", "借记卡免年费。", SCOPES)


@pytest.mark.parametrize(
    "question",
    [
        "借记卡在国外ATM取钱手续费多少",  # documents give the domestic fee only
        "信用卡積分可以換航空哩程嗎？",  # Taiwan's 哩程 is mileage (里程), which no card offers
        "港币大额存单的起存金额是多少？",  # a currency the documents never offer it in
        "2028年第一期大额存单起存金额是多少",  # an issue the documents do not describe
        "What is the minimum amount for the Evergreen Plus CD?",  # a product never named
        "教育储蓄有没有9年期的",  # terms offered: 1, 3 and 6 years
        "What's the rate on a 4-year time deposit?",
    ],
)
def test_it_declines_when_the_passages_never_name_what_is_asked(
    assistant: Assistant, question: str
) -> None:
    result = ask(assistant, question)
    assert not result.grounded and result.citations == []


def test_a_sentence_in_other_words_of_the_glossary_answers(assistant: Assistant) -> None:
    # The sheet prints a 客服热线; the customer asks for the 客服电话.
    result = ask(assistant, "华屿基金的客服电话是多少")
    assert result.grounded and "400-860-3388" in result.answer


def test_an_acronym_spelled_out_in_the_passage_still_answers(assistant: Assistant) -> None:
    result = ask(assistant, "What is the minimum amount for a large-denomination CD?")
    assert result.grounded and "200,000" in result.answer
