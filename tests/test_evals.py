"""The committed golden set, run by the committed runner on the embedded default.
CI fails when retrieval falls below the level reported in the notes, or anything leaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.evaluation import (
    comparable,
    evaluate_answers,
    evaluate_retrieval,
    load_question_set,
    svg_bars,
    write_report,
)
from assistant.ingest.documents import PlainFileDefaults, load_documents
from assistant.pipeline import Assistant
from tests.conftest import AS_OF, ROOT, STAFF_DOCS

GOLDEN_SET = load_question_set(ROOT / "evals" / "golden.yaml")
GOLDEN = GOLDEN_SET.questions
# golden tunes the composer; holdout and blind were written from the documents afterwards,
# by someone who had not seen the composer, to measure how well it generalises.
QUESTION_SETS = ("golden", "holdout", "blind", "blind_2", "blind_3")
DOCUMENTS = {
    doc.meta.id: doc.body
    for doc in load_documents([ROOT / "knowledge"], PlainFileDefaults()).documents
}
# Retrieval at the level the notes report (0.974 / 0.911), answers at the levels the issue
# asks for; a change that loses retrieval quality, or answers what the documents do not
# say, must be noticed.
RECALL_AT_5_FLOOR = 0.97
MRR_FLOOR = 0.90
CORRECT_REFUSAL_FLOOR = 0.90
CITATION_ACCURACY_FLOOR = 0.95


def test_golden_set_is_large_and_varied_enough() -> None:
    kinds = {
        kind: sum(q["kind"] == kind for q in GOLDEN)
        for kind in ("answerable", "unanswerable", "audience_probe")
    }
    assert len(GOLDEN) >= 200
    assert kinds["unanswerable"] >= 30 and kinds["audience_probe"] >= 30
    assert {q["language"] for q in GOLDEN} == {"zh-CN", "zh-TW", "en"}


@pytest.mark.parametrize("name", QUESTION_SETS)
def test_every_question_set_holds_against_the_documents(name: str) -> None:
    question_set = load_question_set(ROOT / "evals" / f"{name}.yaml")
    ids = [q["id"] for q in question_set.questions]
    assert len(ids) == len(set(ids))
    # The tests' assistant answers as of the sets' own day.
    assert question_set.as_of == AS_OF
    for q in question_set.questions:
        # A conversation's turns are held to the same rules as single questions.
        for item in q["turns"] if q["kind"] == "conversation" else [q]:
            assert set(item["gold"]) | set(item.get("subject", [])) <= set(DOCUMENTS), q["id"]
            if q["role"] == "customer":
                assert not set(item["gold"]) & STAFF_DOCS, q["id"]
            for fact in item["facts"]:
                # A gold fact is quoted from a gold document: an edited sheet must not
                # leave the sets asking for a figure it no longer states.
                quoted = any(comparable(fact) in comparable(DOCUMENTS[d]) for d in item["gold"])
                assert quoted, (q["id"], fact)
        if q["kind"] == "audience_probe":
            assert q["staff_doc"] in STAFF_DOCS, q["id"]


def test_held_out_sets_do_not_repeat_the_tuning_set() -> None:
    tuned = {comparable(q["question"]) for q in GOLDEN}
    # blind_2 and blind_3, written blind later, share two and one everyday questions with
    # golden word for word (借记卡在国外ATM取钱手续费多少); they are not held to this.
    for name in QUESTION_SETS[1:3]:
        questions = load_question_set(ROOT / "evals" / f"{name}.yaml").questions
        assert not tuned & {comparable(q["question"]) for q in questions}, name


def test_retrieval_meets_the_reported_level_and_never_leaks(assistant: Assistant) -> None:
    summary = evaluate_retrieval(assistant, GOLDEN)
    assert summary["leaks"] == 0, summary["leak_examples"]
    assert summary["recall@5"] >= RECALL_AT_5_FLOOR, summary["misses"]
    assert summary["mrr"] >= MRR_FLOOR


def test_answers_decline_the_unanswerable_and_cite_what_they_quote(assistant: Assistant) -> None:
    summary = evaluate_answers(assistant, GOLDEN)
    assert summary["audience_probes_citing_staff"] == 0
    assert summary["correct_refusal_rate"] >= CORRECT_REFUSAL_FLOOR, [
        f["id"] for f in summary["failures"] if f["kind"] == "unanswerable"
    ]
    assert summary["citation_accuracy"] >= CITATION_ACCURACY_FLOOR


def test_each_question_set_reports_under_its_own_name() -> None:
    assert GOLDEN_SET.report_name("answers") == "answers"
    blind = load_question_set(ROOT / "evals" / "blind.yaml")
    assert blind.report_name("answers") == "answers-blind"


def test_reports_are_markdown_with_a_chart(tmp_path: Path) -> None:
    path = write_report("demo", {"recall@5": 0.9, "nested": {"a": 1}}, {"recall@5": 0.9}, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "![demo](demo.svg)" in text and "| nested.a | 1 |" in text
    assert "<rect" in (tmp_path / "demo.svg").read_text(encoding="utf-8")
    assert svg_bars({"x": 2.0}, "t").count("<rect") == 1


def test_the_runner_counts_answers_from_another_product_and_reads_follow_ups_in_context(
    assistant: Assistant, tmp_path: Path
) -> None:
    question_set = tmp_path / "set.yaml"
    question_set.write_text(
        """
as_of: 2026-06-01
questions:
- id: x1
  question: "大额存单起存金额是多少？"
  language: zh-CN
  role: customer
  gold: []
  facts: []
  kind: unanswerable
  subject: ["dep-time-deposit"]
conversations:
- id: f1
  language: zh-CN
  role: customer
  turns:
  - question: "大额存单起存金额是多少？"
    gold: ["dep-large-cd-2026-01"]
    facts: ["20万元"]
    subject: ["dep-large-cd-2026-01"]
  - question: "那两年期的利率呢？"
    gold: ["dep-large-cd-2026-01"]
    facts: ["1.60%"]
    subject: ["dep-large-cd-2026-01"]
""",
        encoding="utf-8",
    )
    loaded = load_question_set(question_set)
    assert [q["kind"] for q in loaded.questions] == ["unanswerable", "conversation"]
    summary = evaluate_answers(assistant, loaded.questions)
    # x1 pretends to ask about the time deposit: the CD sheet that answers is another product.
    assert summary["answers_from_another_product"] == 1
    assert summary["answers_about_a_subject"] == 3
    assert summary["follow_ups"] == 1 and summary["follow_up_gold_cited"] == 1.0
    assert summary["fact_coverage"] == 1.0  # 20万元 in turn 1, 1.60% in turn 2
