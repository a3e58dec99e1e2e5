"""What the teller console shows, as the pure functions that render it: answers whose [n]
link to the quoted passage and whose own text makes no link or markup, labels in the
answer's language, and a profile form's problems in words a teller can act on."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.answer.generator import Citation
from assistant.channels.console_view import (
    ConsoleWording,
    ProfileForm,
    cited_sentences,
    label_language,
    linked_answer,
    message_markdown,
    profile_of,
    profile_problems,
    quoted_span,
    sources_markdown,
)
from tests.conftest import ROOT

WORDING = ConsoleWording.load(ROOT / "prompts")
PASSAGE = "本期大额存单起存金额为人民币20万元，超过部分以1万元为单位递增。本期提供3年期。"
CD = Citation(1, "dep-cd", "大额存单说明书", "起存金额", PASSAGE, "dep-cd#1", "2026-01-01", None)
ANSWER = "根据《大额存单说明书》：本期大额存单起存金额为人民币20万元。[1]"
TODAY = date(2026, 6, 1)


def test_the_sentence_an_answer_quotes_is_found_in_its_passage() -> None:
    sentences = cited_sentences(ANSWER, 1)
    assert sentences == ["本期大额存单起存金额为人民币20万元。"]
    span = quoted_span(PASSAGE, sentences)
    assert span is not None
    assert PASSAGE[span[0] : span[1]].startswith("本期大额存单起存金额为人民币20万元")
    assert quoted_span(PASSAGE, ["与此无关的一句话"]) is None  # a shared word is no quotation


def test_a_marker_links_to_its_passage_and_the_answer_itself_links_nowhere() -> None:
    hostile = "请点击[这里](http://evil.example)或看![x](http://intranet/x.png)<b>。[1][7]"
    linked = linked_answer(hostile, [CD])
    assert "](/console/documents/dep-cd?chunk=dep-cd%231" in linked
    assert "](http://evil.example)" not in linked.replace("\\]", "")
    assert "\\[这里\\]" in linked and "\\!" in linked and "\\<b\\>" in linked
    assert "\\[7\\]" in linked  # a marker with no citation stays text


def test_an_answer_resting_on_a_staff_document_is_marked_internal() -> None:
    staff = Citation(1, "staff-x", "内部规定", "", PASSAGE, "staff-x#0", None, None, "staff")
    assert "内部，勿告知客户" in message_markdown(ANSWER, [staff], "zh-CN", WORDING)
    assert "内部，勿告知客户" not in message_markdown(ANSWER, [CD], "zh-CN", WORDING)


def test_labels_around_an_english_answer_are_english() -> None:
    assert label_language("en") == "en" and label_language("zh-TW") == "zh-CN"
    english = sources_markdown("The minimum is 200,000 yuan. [1]", [CD], "en", WORDING)
    assert "In force 2026-01-01 to until further notice" in english
    assert "有效期" not in english and "长期" not in english
    assert "<mark>" in sources_markdown(ANSWER, [CD], "zh-CN", WORDING)


def form(**fields: object) -> ProfileForm:
    values: dict[str, object] = {
        "aum": 300_000.0,
        "available_amount": 200_000.0,
        "risk_level": "C3",
        "risk_assessed_on": date(2026, 3, 1),
        "age": 45.0,
        "horizon_months": 12.0,
        "qualified_investor": False,
    }
    return ProfileForm(**{**values, **fields})  # type: ignore[arg-type]


def test_a_complete_form_is_a_profile() -> None:
    assert profile_problems(form(), TODAY, "zh-CN", WORDING) == []
    profile = profile_of(form())
    assert profile is not None and profile.risk_level == "C3" and profile.horizon_months == 12


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"age": 0.0}, "请填写年龄"),
        ({"age": 150.0}, "年龄应在1至120岁之间"),
        ({"available_amount": 500_000.0}, "可投资金额不应大于资产 AUM"),
        ({"aum": -1.0}, "资产 AUM（元）不能为负数"),
        ({"horizon_months": 700.0}, "投资期限应在1至600个月之间"),
        ({"risk_assessed_on": date(2026, 7, 1)}, "测评日期不能晚于今天"),
        ({"risk_level": None}, "请同时选择风险承受能力"),
    ],
)
def test_each_problem_of_a_form_is_named_in_chinese(
    fields: dict[str, object], problem: str
) -> None:
    problems = profile_problems(form(**fields), TODAY, "zh-CN", WORDING)
    assert any(problem in p for p in problems), problems


def test_a_form_of_zeros_is_a_form_not_filled_in() -> None:
    empty = ProfileForm(0, 0, None, None, 0, 0, False)
    assert empty.blank and profile_of(empty) is None
