"""The committed golden set, run by the committed runner on the embedded default.
CI fails when retrieval falls below the level reported in the notes, or anything leaks."""

from __future__ import annotations

from pathlib import Path

from assistant.evaluation import evaluate_retrieval, load_questions, svg_bars, write_report
from assistant.pipeline import Assistant
from tests.conftest import ROOT, STAFF_DOCS

GOLDEN = load_questions(ROOT / "evals" / "golden.yaml")
# The level measured when the golden set was committed (see the README); a change that
# loses retrieval quality must be noticed.
RECALL_AT_5_FLOOR = 0.95
MRR_FLOOR = 0.85


def test_golden_set_is_well_formed() -> None:
    ids = [q["id"] for q in GOLDEN]
    assert len(ids) == len(set(ids)) >= 200
    kinds = {
        kind: sum(q["kind"] == kind for q in GOLDEN)
        for kind in ("answerable", "unanswerable", "audience_probe")
    }
    assert kinds["unanswerable"] >= 30 and kinds["audience_probe"] >= 30
    assert {q["language"] for q in GOLDEN} == {"zh-CN", "zh-TW", "en"}
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


def test_reports_are_markdown_with_a_chart(tmp_path: Path) -> None:
    path = write_report("demo", {"recall@5": 0.9, "nested": {"a": 1}}, {"recall@5": 0.9}, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "![demo](demo.svg)" in text and "| nested.a | 1 |" in text
    assert "<rect" in (tmp_path / "demo.svg").read_text(encoding="utf-8")
    assert svg_bars({"x": 2.0}, "t").count("<rect") == 1
