"""Grounding: a sentence in a model's own words is released only when the passages it cites
state it, figures, product names and terms included."""

from __future__ import annotations

import pytest

from assistant.guard.grounding import Evidence, Grounding, Negators
from assistant.guard.policy import load_policy
from assistant.guard.verdicts import Verdict
from assistant.search.glossary import Glossary
from tests.conftest import KNOWLEDGE, ROOT

CD = (
    "大额存单（2026年第1期） 起存金额\n"
    "本期大额存单起存金额为人民币20万元，期限1年、2年、3年，3年期年利率1.90%。"
)
CARD = "标准信用卡 年费\n标准卡首年免年费，一个年费年度内刷卡满6次免次年年费。"
TRANSFER = "大额存单 转让\n本期大额存单不可提前支取，可以转让给本行其他个人客户。"
PASSAGES = {1: CD, 2: CARD, 3: TRANSFER}


@pytest.fixture(scope="module")
def grounding() -> Grounding:
    policy = load_policy(ROOT / "guardrails")[1].negation
    negators = Negators((*policy.zh, *policy.en), policy.not_negation)
    return Grounding(Glossary.load(KNOWLEDGE / "glossary.yaml"), negators=negators)


def released(
    grounding: Grounding, *sentences: str, question: str = ""
) -> tuple[list[str], list[Verdict]]:
    verdicts: list[Verdict] = []
    return list(grounding.checked(sentences, Evidence(PASSAGES, question), verdicts)), verdicts


def test_a_sentence_its_cited_passage_states_is_released(grounding):
    out, verdicts = released(grounding, "大额存单起存金额为20万元[1]。")
    assert out == ["大额存单起存金额为20万元[1]。"] and verdicts == []


def test_a_figure_the_cited_passage_does_not_state_is_removed(grounding):
    out, verdicts = released(grounding, "大额存单起存金额为30万元[1]。")
    assert out == []
    assert verdicts[0].rule == "grounding" and "30" in verdicts[0].reason


def test_a_rate_quoted_for_another_term_is_removed(grounding):
    out, _ = released(grounding, "1年期年利率1.90%[1]。")
    assert out == []


def test_a_figure_no_passage_states_for_its_subject_is_removed(grounding):
    out, verdicts = released(grounding, "大额存单刷卡满6次免年费[1]。")
    assert out == [] and "6" in verdicts[0].reason


def test_a_product_the_cited_passage_does_not_name_is_removed(grounding):
    out, verdicts = released(grounding, "白金信用卡首年免年费[2]。")
    assert out == [] and "白金信用卡" in verdicts[0].reason


def test_another_name_of_the_same_product_is_not_a_new_product(grounding):
    out, _ = released(grounding, "The certificate of deposit starts at 20万元 [1].")
    assert len(out) == 1


def test_a_citation_of_a_passage_not_given_is_removed_when_none_states_it(grounding):
    out, verdicts = released(grounding, "起存金额为50万元[7]。")
    assert out == [] and "[7]" in verdicts[0].reason


def test_an_unmarked_sentence_is_cited_as_the_passage_that_states_it(grounding):
    out, _ = released(grounding, "标准卡首年免年费。")
    assert out == ["标准卡首年免年费[2]。"]


def test_an_unmarked_sentence_no_passage_states_is_removed(grounding):
    out, verdicts = released(grounding, "本行所有存款均有额外礼品赠送。")
    assert out == [] and "no passage states it" in verdicts[0].reason


def test_markers_alone_and_lead_ins_are_not_claims(grounding):
    out, verdicts = released(grounding, "[1]\n", "所需材料：\n", "起存金额为20万元[1]。")
    assert out == ["所需材料：\n起存金额为20万元[1]。"] and verdicts == []


def test_a_lead_in_with_nothing_grounded_after_it_is_removed(grounding):
    lead_in = "本产品可以随时提前支取且不损失利息：\n"
    out, verdicts = released(grounding, lead_in, "存款均有额外礼品赠送。")
    assert out == [] and len(verdicts) == 2


def test_a_sentence_arriving_in_pieces_is_checked_whole(grounding):
    out, verdicts = released(grounding, "大额存单起", "存金额为30", "万元[1]。")
    assert out == [] and "30" in verdicts[0].reason


def test_a_bare_yes_or_no_stands_with_the_reason_after_it(grounding):
    out, _ = released(grounding, "可以。", "标准卡首年免年费[2]。")
    assert out == ["可以。标准卡首年免年费[2]。"]


def test_a_bare_yes_or_no_with_nothing_after_it_is_removed(grounding):
    out, verdicts = released(grounding, "不能。")
    assert out == [] and verdicts[0].excerpt == "不能。"


def test_a_reworded_sentence_is_still_attributed_to_its_passage(grounding):
    out, _ = released(grounding, "大额存单的起存金额是人民币20万元。")
    assert out == ["大额存单的起存金额是人民币20万元[1]。"]


def test_a_sentence_citing_the_wrong_passage_is_cited_as_the_one_that_states_it(grounding):
    out, verdicts = released(grounding, "标准卡首年免年费，刷卡满6次免次年年费[1]。")
    assert out == ["标准卡首年免年费，刷卡满6次免次年年费[2]。"] and verdicts == []


def test_a_sentence_that_only_restates_the_question_is_removed(grounding):
    question = "标准卡在国外刷卡收不收货币转换费"
    out, verdicts = released(grounding, "标准卡在国外刷卡收不收货币转换费[2]。", question=question)
    assert out == [] and "restates" in verdicts[0].reason


def test_an_answer_that_adds_what_the_passage_says_is_not_a_restatement(grounding):
    out, _ = released(grounding, "大额存单起存金额为20万元[1]。", question="大额存单起存金额是多少")
    assert len(out) == 1


def test_a_sentence_that_denies_what_its_passage_affirms_is_removed(grounding):
    out, verdicts = released(grounding, "本期大额存单不可以转让给本行其他个人客户[3]。")
    assert out == [] and "opposite" in verdicts[0].reason


def test_a_sentence_that_affirms_what_its_passage_denies_is_removed(grounding):
    out, _ = released(grounding, "可以。", "本期大额存单可以提前支取[3]。")
    assert out == []


def test_a_yes_its_passage_states_in_the_questions_words_is_an_answer(grounding):
    question = "大额存单可以转让给其他客户吗"
    answer = "大额存单可以转让给本行其他个人客户[3]。"
    out, _ = released(grounding, "可以。", answer, question=question)
    assert out == ["可以。大额存单可以转让给本行其他个人客户[3]。"]
