"""The vector store seam: one index generation's passage vectors, queried with one filter
object that each backend translates for itself.

Built in: `exact` (every vector in one numpy matrix, searched exhaustively: no
approximation, nothing beyond numpy; the default) and `chroma` (an embedded Chroma
collection, `chroma.py`). With ASSISTANT_CHROMA_URL set, the vectors live in a Chroma server
instead (`ChromaServer`), shared by every worker on every host: one collection per index
generation.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.registry import Registry
from assistant.search.embeddings import Embedder

log = logging.getLogger(__name__)

# Passages without an effective date are in force from the first day to the last.
OPEN_START = 0
OPEN_END = 99_991_231


def day_number(value: str | date | None, default: int) -> int:
    """2026-06-01 as 20260601, so that days compare as integers in every backend."""
    if value is None:
        return default
    return int(str(value).replace("-", ""))


@dataclass(frozen=True)
class PassageMeta:
    """What a filter may ask of a passage: who may read it, and when it is in force."""

    audience: str
    effective_from: int = OPEN_START
    effective_to: int = OPEN_END


@dataclass(frozen=True)
class PassageFilter:
    """Passages of these audiences in force on this day. The one statement of who may read
    what: keyword search, every vector store and every test read it from here."""

    audiences: tuple[str, ...]
    on: date

    @property
    def day(self) -> int:
        return day_number(self.on, 0)

    def admits(self, meta: PassageMeta) -> bool:
        return (
            meta.audience in self.audiences and meta.effective_from <= self.day <= meta.effective_to
        )

    def mask(self, audiences: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """The same test over columns of passages at once."""
        return np.isin(audiences, list(self.audiences)) & (starts <= self.day) & (ends >= self.day)


class PassageColumns:
    """What filters ask of a generation's passages, as columns in passage order. Filters
    repeat (a few roles, one day at a time), so each one's mask is computed once; keyword
    search and the exact store read the same masks."""

    _MASKS_KEPT = 64

    def __init__(self, metas: Sequence[PassageMeta]) -> None:
        self._audiences = np.array([m.audience for m in metas], dtype=object)
        self._starts = np.array([m.effective_from for m in metas], dtype=np.int64)
        self._ends = np.array([m.effective_to for m in metas], dtype=np.int64)
        self._masks: dict[PassageFilter, np.ndarray] = {}

    def admitted(self, where: PassageFilter) -> np.ndarray:
        """Which passages, in order, the filter admits (read-only: it is shared)."""
        mask = self._masks.get(where)
        if mask is None:
            mask = where.mask(self._audiences, self._starts, self._ends)
            mask.setflags(write=False)
            if len(self._masks) >= self._MASKS_KEPT:
                self._masks.clear()
            self._masks[where] = mask
        return mask


class VectorStore(Protocol):
    """The vectors of one index generation."""

    def add(self, ids: Sequence[str], vectors: np.ndarray, metas: Sequence[PassageMeta]) -> None:
        """Store vectors (one row per id) with what filters ask of them."""

    def delete(self, ids: Sequence[str]) -> None:
        """Forget these ids; unknown ids are ignored."""

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of these ids, in their order."""

    def query(self, vector: np.ndarray, limit: int, where: PassageFilter) -> list[str]:
        """Ids of the at most `limit` nearest passages that `where` admits, nearest first."""

    def count(self) -> int: ...

    def close(self) -> None:
        """Persist what was added and release the store's resources."""


@dataclass(frozen=True)
class GenerationRef:
    """The generation a store belongs to: a store in a folder uses `folder`, a server store
    names its collection after the index and the generation."""

    index_name: str
    generation: str
    folder: Path

    @property
    def collection(self) -> str:
        return f"{self.index_name}-{self.generation}"


class VectorStoreFactory(Protocol):
    """Creates a generation's store when it is built, opens it when it is read, and drops it
    when no reader can still use it."""

    name: str

    def create(self, generation: GenerationRef) -> VectorStore: ...

    def open(self, generation: GenerationRef) -> VectorStore: ...

    def drop(self, generation: GenerationRef) -> None:
        """Forget the generation's vectors; a store kept in its folder goes with the folder."""


vector_stores: Registry[Callable[[Embedder], VectorStoreFactory]] = Registry(
    "vector store", "ASSISTANT_VECTOR_STORE"
)


# --------------------------------------------------------------------------- chroma


# Chroma in the generation's folder; chromadb takes most of a second to import.
vector_stores.register_deferred("chroma", "assistant.search.chroma:EmbeddedChroma")


# --------------------------------------------------------------------------- exact


class ExactStore:
    """Every vector in one matrix, searched exhaustively: recall 1.0 by construction, and
    on one host faster than an approximate index up to a few hundred thousand passages (a
    matrix-vector product reads the vectors once; the filter is a cached boolean mask).
    Saved as vectors.npy beside the index and mapped read-only when opened, so that the
    workers on one host share one copy of it in the page cache."""

    def __init__(self, location: Path, dimension: int) -> None:
        self._location = location
        self._dimension = dimension
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._metas: list[PassageMeta] = []
        # Batches added while a generation is built, joined into one matrix when read.
        self._batches: list[np.ndarray] = []
        # A new store is written when closed even if empty: an empty generation opens.
        self._dirty = True
        self._searchable: _Matrix | None = None
        self._joining = threading.Lock()

    @classmethod
    def load(cls, location: Path, dimension: int) -> ExactStore:
        store = cls(location, dimension)
        rows = json.loads((location / "vectors.json").read_text(encoding="utf-8"))
        store._ids = [row["id"] for row in rows]
        store._rows = {chunk_id: i for i, chunk_id in enumerate(store._ids)}
        store._metas = [PassageMeta(**row["meta"]) for row in rows]
        store._batches = [np.load(location / "vectors.npy", mmap_mode="r")]
        store._dirty = False
        return store

    def add(self, ids: Sequence[str], vectors: np.ndarray, metas: Sequence[PassageMeta]) -> None:
        self.delete(ids)
        self._rows.update((chunk_id, len(self._ids) + i) for i, chunk_id in enumerate(ids))
        self._ids += list(ids)
        self._metas += list(metas)
        self._batches.append(np.asarray(vectors, dtype=np.float32).reshape(-1, self._dimension))
        self._changed()

    def delete(self, ids: Sequence[str]) -> None:
        gone = set(ids)
        if gone.isdisjoint(self._rows):
            return
        keep = [i for i, chunk_id in enumerate(self._ids) if chunk_id not in gone]
        self._batches = [self._matrix().vectors[keep]]
        self._ids = [self._ids[i] for i in keep]
        self._rows = {chunk_id: i for i, chunk_id in enumerate(self._ids)}
        self._metas = [self._metas[i] for i in keep]
        self._changed()

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        rows = [self._rows[i] for i in ids]
        return np.asarray(self._matrix().vectors[rows], dtype=np.float32)

    def query(self, vector: np.ndarray, limit: int, where: PassageFilter) -> list[str]:
        matrix = self._matrix()
        admitted = matrix.columns.admitted(where)
        found = min(limit, int(np.count_nonzero(admitted)))
        if found == 0:
            return []
        scores = matrix.vectors @ np.asarray(vector, dtype=np.float32)
        scores[~admitted] = -np.inf
        best = np.sort(np.argpartition(-scores, found - 1)[:found])  # ties in row order
        # A NaN score sorts above the masked rows: only what the filter admits goes out.
        best = best[admitted[best]]
        return [self._ids[i] for i in best[np.argsort(-scores[best], kind="stable")]]

    def count(self) -> int:
        return len(self._ids)

    def close(self) -> None:
        if not self._dirty:
            return
        self._location.mkdir(parents=True, exist_ok=True)
        np.save(self._location / "vectors.npy", self._matrix().vectors)
        rows = [
            {"id": chunk_id, "meta": meta.__dict__}
            for chunk_id, meta in zip(self._ids, self._metas, strict=True)
        ]
        (self._location / "vectors.json").write_text(json.dumps(rows), encoding="utf-8")
        self._dirty = False

    def _changed(self) -> None:
        self._dirty = True
        self._searchable = None

    def _matrix(self) -> _Matrix:
        # Turns in several threads may search a freshly opened store at once: one joins.
        with self._joining:
            if self._searchable is None:
                if len(self._batches) > 1:
                    self._batches = [np.concatenate(self._batches)]
                vectors = self._batches[0] if self._batches else np.zeros((0, self._dimension))
                self._searchable = _Matrix(vectors, PassageColumns(self._metas))
            return self._searchable


@dataclass(frozen=True)
class _Matrix:
    """A store's vectors as searched, the filter's columns beside them."""

    vectors: np.ndarray
    columns: PassageColumns


@vector_stores.register("exact")
class ExactSearch:
    name = "exact"

    def __init__(self, embedder: Embedder) -> None:
        self._dimension = embedder.dimension

    def create(self, generation: GenerationRef) -> ExactStore:
        return ExactStore(generation.folder / "exact", self._dimension)

    def open(self, generation: GenerationRef) -> ExactStore:
        return ExactStore.load(generation.folder / "exact", self._dimension)

    def drop(self, generation: GenerationRef) -> None:
        """The vectors live in the generation's folder and go with it."""
