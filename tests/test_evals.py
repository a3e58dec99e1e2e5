"""The committed golden set, run by the committed runner on the embedded default.
CI fails when retrieval falls below the level reported in the notes, or anything leaks."""

from __future__ import annotations

from pathlib import Path

from assistant.evaluation import (
    evaluate_answers,
    evaluate_retrieval,
    load_question_set,
    svg_bars,
    write_report,
)
from assistant.pipeline import Assistant
from tests.conftest import AS_OF, ROOT, STAFF_DOCS

GOLDEN_SET = load_question_set(ROOT / "evals" / "golden.yaml")
GOLDEN = GOLDEN_SET.questions
# The levels the issue asks for and the notes report; a change that loses retrieval
# quality, or answers what the documents do not say, must be noticed.
RECALL_AT_5_FLOOR = 0.95
MRR_FLOOR = 0.85
CORRECT_REFUSAL_FLOOR = 0.90
CITATION_ACCURACY_FLOOR = 0.95


def test_golden_set_is_well_formed() -> None:
    ids = [q["id"] for q in GOLDEN]
    assert len(ids) == len(set(ids)) >= 200
    kinds = {
        kind: sum(q["kind"] == kind for q in GOLDEN)
        for kind in ("answerable", "unanswerable", "audience_probe")
    }
    assert kinds["unanswerable"] >= 30 and kinds["audience_probe"] >= 30
    assert {q["language"] for q in GOLDEN} == {"zh-CN", "zh-TW", "en"}
    # The tests' assistant answers as of the set's own day.
    assert GOLDEN_SET.as_of == AS_OF
    documents = {p.stem for p in (ROOT / "knowledge").rglob("*.md")}
    for q in GOLDEN:
        assert set(q["gold"]) <= documents, q["id"]
        if q["role"] == "customer":
            assert not set(q["gold"]) & STAFF_DOCS, q["id"]


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


def test_reports_are_markdown_with_a_chart(tmp_path: Path) -> None:
    path = write_report("demo", {"recall@5": 0.9, "nested": {"a": 1}}, {"recall@5": 0.9}, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "![demo](demo.svg)" in text and "| nested.a | 1 |" in text
    assert "<rect" in (tmp_path / "demo.svg").read_text(encoding="utf-8")
    assert svg_bars({"x": 2.0}, "t").count("<rect") == 1
