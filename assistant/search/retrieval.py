"""Hybrid retrieval: BM25 and dense search, each filtered inside its own query, fused by rank."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from assistant.roles import Role, audiences_for
from assistant.search.catalog import IndexedChunk
from assistant.search.embeddings import Embedder
from assistant.search.glossary import Glossary
from assistant.search.index import Snapshot
from assistant.search.subjects import Subject
from assistant.search.vectorstore import PassageFilter
from assistant.text import to_simplified


@dataclass(frozen=True)
class Passage:
    chunk: IndexedChunk
    score: float
    keyword_rank: int | None
    dense_rank: int | None

    def as_dict(self) -> dict[str, object]:
        c = self.chunk
        return {
            "doc_id": c.doc_id,
            "chunk_id": c.chunk_id,
            "title": c.title,
            "section": c.section,
            "score": round(self.score, 6),
            "text": c.text,
            "audience": c.audience,
            "language": c.language,
            "kind": c.kind,
            "effective_from": c.effective_from,
            "effective_to": c.effective_to,
            "source": c.source,
            "keyword_rank": self.keyword_rank,
            "dense_rank": self.dense_rank,
        }


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int) -> dict[str, float]:
    """Sum of 1 / (k + rank) over the rankings an item appears in (rank counted from 1)."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def search(
    snapshot: Snapshot,
    embedder: Embedder,
    query: str,
    role: Role,
    k: int,
    on: date,
    pool: int = 40,
    rrf_k: int = 60,
    glossary: Glossary | None = None,
) -> list[Passage]:
    """The best `k` passages that `role` may read on day `on`, best first; keyword search
    also looks for the glossary's other names of what the query names."""
    where = PassageFilter(tuple(str(a) for a in audiences_for(role)), on)
    keyword_positions = snapshot.bm25.top(
        (glossary or Glossary()).keyword_terms(query), pool, snapshot.mask(where)
    )
    keyword_ids = [snapshot.chunks[i].chunk_id for i in keyword_positions]
    dense_ids = _dense(snapshot, embedder, query, pool, where)
    fused = reciprocal_rank_fusion([keyword_ids, dense_ids], rrf_k)
    best = sorted(fused, key=lambda chunk_id: -fused[chunk_id])[:k]
    return [
        Passage(
            chunk=snapshot.chunks[snapshot.position[chunk_id]],
            score=fused[chunk_id],
            keyword_rank=_rank_of(chunk_id, keyword_ids),
            dense_rank=_rank_of(chunk_id, dense_ids),
        )
        for chunk_id in best
    ]


def narrowed(
    ranked: Sequence[Passage], subject: Subject, confirm_within: int
) -> tuple[list[Passage], Subject]:
    """The passages the subject admits, best first, and the subject, when retrieval
    confirms it: one of its documents ranks within the first `confirm_within`. Otherwise
    the names the question used were about something else (a "gold customer" is not gold
    bars), and nothing is narrowed. 0 turns narrowing off."""
    confirmed = any(p.chunk.doc_id in subject.documents for p in ranked[:confirm_within])
    if not subject or not confirmed:
        return list(ranked), Subject()
    return [p for p in ranked if subject.admits(p.chunk)], subject


def _dense(
    snapshot: Snapshot, embedder: Embedder, query: str, pool: int, where: PassageFilter
) -> list[str]:
    if not snapshot.chunks:
        return []
    # The knowledge base is written in Simplified Chinese; a Traditional question meets it
    # best in the same script.
    vector = embedder.embed_query(to_simplified(query))
    return snapshot.vectors.query(vector, min(pool, len(snapshot.chunks)), where)


def _rank_of(item: str, ranking: list[str]) -> int | None:
    try:
        return ranking.index(item) + 1
    except ValueError:
        return None
