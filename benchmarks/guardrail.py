"""Added latency of the compliance guardrail per turn, on this machine.

Runs the input guard on real customer queries (banking77, 10,003 English, plus the golden
set's Chinese questions) and the output guard on real reply drafts (what the embedded
composer says to every golden question, with its cited sources and the staff/public view),
then prints p50/p95/max per check and for a whole turn (input + output), and the guard's
share of a whole turn.

    .venv/bin/python benchmarks/guardrail.py [--turns 300]

Figures from a shared 2-core machine are noisy; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from datetime import date

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.answer.generator import GenerationInput
from assistant.evaluation import load_questions
from assistant.pipeline import source_documents
from assistant.roles import Role
from assistant.search.retrieval import Passage
from assistant.service import build_assistant
from assistant.settings import Settings
from assistant.text import detect_language
from assistant.turn import TurnRequest


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def row(name: str, samples: list[float]) -> str:
    return (
        f"| {name} | {len(samples)} | {statistics.median(samples):.3f} | "
        f"{percentile(samples, 95):.3f} | {max(samples):.3f} |"
    )


def timed(function, *args, **kwargs) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300, help="Golden questions to replay.")
    args = parser.parse_args()
    settings = Settings(as_of=date(2026, 6, 1))
    assistant = build_assistant(settings)
    snapshot = assistant.index.snapshot()
    view = assistant.view(snapshot)  # built once per index generation, as in serving
    with (settings.evaldata_dir / "banking77" / "train.csv").open(encoding="utf-8") as handle:
        english = [r["text"] for r in csv.DictReader(handle)]
    golden = load_questions(settings.evals_dir / "golden.yaml")[: args.turns]

    input_ms = [timed(assistant.input_guard.inspect, text)[0] for text in english]
    input_zh = [timed(assistant.input_guard.inspect, q["question"])[0] for q in golden]

    output_ms: list[float] = []
    turn_ms: list[float] = []
    for q in golden:
        role = Role(q["role"])
        passages: list[Passage] = assistant.search(q["question"], role)
        language = detect_language(q["question"])
        draft = assistant.generator.generate(
            GenerationInput(q["question"], language, passages, snapshot.bm25.idf)
        )
        sources = source_documents(snapshot, draft.citations)
        spent, _ = timed(
            assistant.output_guard.inspect, draft.text, sources, str(role), language, view
        )
        output_ms.append(spent)
        turn_ms.append(timed(assistant.answer, TurnRequest(q["question"], role))[0])
    per_turn = [a + b for a, b in zip(input_zh, output_ms, strict=False)]

    print(f"machine: nproc={os.cpu_count()}; times in milliseconds")
    print("| check | samples | p50 | p95 | max |")
    print("| --- | --- | --- | --- | --- |")
    print(row("input guard, banking77 (en)", input_ms))
    print(row("input guard, golden questions (zh/zh-TW/en)", input_zh))
    print(row("output guard, composer drafts", output_ms))
    print(row("guardrail added per turn (input + output)", per_turn))
    print(row("whole turn (retrieve + compose + guard)", turn_ms))
    share = statistics.median(per_turn) / statistics.median(turn_ms)
    print(f"\nguardrail share of a median turn: {share:.1%}")
    print("noisy shared machine: compare ratios within one run, not across runs")


if __name__ == "__main__":
    main()
