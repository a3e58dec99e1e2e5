"""Compare the offline embedding models on the project's own questions.

For each candidate (use-m3, e5-small, minilm) this script embeds every chunk of every knowledge
document in effect today (the superseded 2025 CD sheet is skipped), then embeds each question
of evals/starter_questions.yaml on its own and ranks documents by their best chunk's cosine
score. Customers only see chunks of public documents; tellers see all. For the answerable
questions it reports:

- R@1 / R@5: share of questions with a gold document among the top 1 / 5 documents,
  overall and R@5 per language (zh-CN, zh-TW, en);
- MRR: mean reciprocal rank of the first gold document;
- load s: seconds from load_embedder to the first query vector (includes importing the
  model's libraries, e.g. torch, and any weights a model only reads on first use);
- passages/s: all chunks embedded in one call, best of 3 repetitions;
- query p50 / p95 ms: latency of embedding each question (all of them) singly.

Each model runs in its own fresh process, so one model's thread pools cannot slow the
next one down. Timings are wall clock on whatever machine runs this and are noisy when other
work shares its cores; compare models within one run rather than across runs.

Run from the repository root:

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/embeddings.py
    .venv/bin/python benchmarks/embeddings.py --models e5-small minilm --threads 2
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import yaml

from assistant.ingest.chunking import chunk_document, embedding_text
from assistant.ingest.documents import Document, PlainFileDefaults, load_documents
from assistant.roles import Audience, Role, audiences_for
from assistant.search.embeddings import Embedder, load_embedder

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
QUESTIONS = ROOT / "evals" / "starter_questions.yaml"
MODELS = ("use-m3", "e5-small", "minilm")
LANGUAGES = ("zh-CN", "zh-TW", "en")
CHUNK_SIZE = 360
CHUNK_OVERLAP = 1
PASSAGE_REPETITIONS = 3


@dataclass(frozen=True)
class Passage:
    doc_id: str
    audience: Audience
    text: str


@dataclass(frozen=True)
class Question:
    text: str
    language: str
    gold: frozenset[str]
    role: Role


@dataclass(frozen=True)
class Result:
    model: str
    dimension: int
    recall_1: float
    recall_5: float
    mrr: float
    recall_5_by_language: dict[str, float]
    load_s: float
    passages_per_s: float
    query_p50_ms: float
    query_p95_ms: float


def load_passages(today: date) -> list[Passage]:
    """Every chunk of every document in effect today, as the dense index would embed it."""
    documents: list[Document] = load_documents([KNOWLEDGE], PlainFileDefaults()).documents
    return [
        Passage(doc.meta.id, doc.meta.audience, embedding_text(doc.meta.title, c.section, c.text))
        for doc in documents
        if doc.meta.in_effect(today)
        for c in chunk_document(doc, CHUNK_SIZE, CHUNK_OVERLAP)
    ]


def load_questions() -> list[Question]:
    entries = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    return [
        Question(e["question"], e["language"], frozenset(e.get("gold") or ()), Role(e["role"]))
        for e in entries
    ]


def timed_load(spec: str, threads: int) -> tuple[Embedder, float]:
    """Load the model and embed one query, since some models read their weights lazily."""
    start = time.perf_counter()
    embedder = load_embedder(spec, threads)
    embedder.embed_query("warm-up")
    return embedder, time.perf_counter() - start


def embed_passages(embedder: Embedder, texts: list[str]) -> tuple[np.ndarray, float]:
    """Embed all passages several times; return the vectors and the best rate (passages/s)."""
    best = float("inf")
    vectors = np.zeros((0, embedder.dimension), dtype=np.float32)
    for _ in range(PASSAGE_REPETITIONS):
        start = time.perf_counter()
        vectors = embedder.embed_passages(texts)
        best = min(best, time.perf_counter() - start)
    return vectors, len(texts) / best


def embed_queries(embedder: Embedder, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Embed each question on its own; return the vectors and per-question latency in ms."""
    vectors: list[np.ndarray] = []
    latencies: list[float] = []
    for text in texts:
        start = time.perf_counter()
        vectors.append(embedder.embed_query(text))
        latencies.append((time.perf_counter() - start) * 1000)
    return np.stack(vectors), np.asarray(latencies)


def rank_documents(
    query: np.ndarray, vectors: np.ndarray, passages: Sequence[Passage], role: Role
) -> list[str]:
    """Document ids the role may read, best first, each scored by its best chunk."""
    allowed = audiences_for(role)
    scores = vectors @ query
    best: dict[str, float] = {}
    for passage, score in zip(passages, scores, strict=True):
        if passage.audience in allowed and score > best.get(passage.doc_id, -np.inf):
            best[passage.doc_id] = float(score)
    return sorted(best, key=best.__getitem__, reverse=True)


def first_gold_rank(ranking: list[str], gold: frozenset[str]) -> int | None:
    """1-based rank of the first gold document, or None when none was retrieved."""
    return next((i for i, doc_id in enumerate(ranking, 1) if doc_id in gold), None)


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    return float(np.mean([r is not None and r <= k for r in ranks])) if ranks else float("nan")


def mean_reciprocal_rank(ranks: Sequence[int | None]) -> float:
    return float(np.mean([1 / r if r else 0.0 for r in ranks])) if ranks else float("nan")


def evaluate(spec: str, threads: int, passages: list[Passage], questions: list[Question]) -> Result:
    embedder, load_s = timed_load(spec, threads)
    passage_vectors, passages_per_s = embed_passages(embedder, [p.text for p in passages])
    query_vectors, latencies = embed_queries(embedder, [q.text for q in questions])
    ranks: dict[str, list[int | None]] = {language: [] for language in LANGUAGES}
    for question, vector in zip(questions, query_vectors, strict=True):
        if question.gold:
            ranking = rank_documents(vector, passage_vectors, passages, question.role)
            ranks.setdefault(question.language, []).append(first_gold_rank(ranking, question.gold))
    overall = [rank for language_ranks in ranks.values() for rank in language_ranks]
    return Result(
        model=embedder.name,
        dimension=embedder.dimension,
        recall_1=recall_at(overall, 1),
        recall_5=recall_at(overall, 5),
        mrr=mean_reciprocal_rank(overall),
        recall_5_by_language={language: recall_at(ranks[language], 5) for language in LANGUAGES},
        load_s=load_s,
        passages_per_s=passages_per_s,
        query_p50_ms=float(np.percentile(latencies, 50)),
        query_p95_ms=float(np.percentile(latencies, 95)),
    )


def evaluate_in_fresh_process(
    spec: str, threads: int, passages: list[Passage], questions: list[Question]
) -> Result:
    """Models that share a process interfere (OpenMP / BLAS pools), so each gets its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(evaluate, spec, threads, passages, questions).result()


def table(results: list[Result]) -> str:
    header = (
        "| model | dim | R@1 | R@5 | MRR | R@5 zh-CN | R@5 zh-TW | R@5 en "
        "| load s | passages/s | query p50 ms | query p95 ms |"
    )
    rule = "|" + "---|" * 12
    rows = [
        f"| {r.model} | {r.dimension} | {r.recall_1:.3f} | {r.recall_5:.3f} | {r.mrr:.3f} | "
        + " | ".join(f"{r.recall_5_by_language[lang]:.3f}" for lang in LANGUAGES)
        + f" | {r.load_s:.2f} | {r.passages_per_s:.1f} | {r.query_p50_ms:.1f} "
        f"| {r.query_p95_ms:.1f} |"
        for r in results
    ]
    return "\n".join([header, rule, *rows])


def describe_run(threads: int, passages: list[Passage], questions: list[Question]) -> str:
    answerable = [q for q in questions if q.gold]
    by_language = ", ".join(
        f"{lang} {sum(q.language == lang for q in answerable)}" for lang in LANGUAGES
    )
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return "\n".join(
        [
            f"machine: {platform.machine()} {platform.processor() or platform.system()}, "
            f"nproc={cores}, threads={threads} (timings are noisy when the machine is shared)",
            f"questions: {len(questions)} ({len(answerable)} answerable: {by_language}); "
            f"latency over all {len(questions)}",
            f"chunks: {len(passages)} from {len({p.doc_id for p in passages})} documents "
            f"in effect on {date.today().isoformat()} (size {CHUNK_SIZE}, overlap {CHUNK_OVERLAP})",
        ]
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--models", nargs="+", choices=MODELS, default=list(MODELS), help="models to compare"
    )
    parser.add_argument("--threads", type=int, default=2, help="inference threads per model")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    passages = load_passages(date.today())
    questions = load_questions()
    results = [
        evaluate_in_fresh_process(spec, args.threads, passages, questions)
        for spec in dict.fromkeys(args.models)
    ]
    print(describe_run(args.threads, passages, questions))
    print()
    print(table(results))


if __name__ == "__main__":
    main()
