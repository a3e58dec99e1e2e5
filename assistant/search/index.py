"""The knowledge index: dense vectors in a vector store, BM25 for keywords, one snapshot at a
time.

An ingest builds a complete new generation beside the current one, reusing the embeddings of
unchanged documents (matched by content hash), then switches the catalogue's pointer in one
atomic step. Readers therefore see the old index or the new one, never half of either, and a
failed ingest leaves the current generation untouched. Where the pointer and the passages
live is the catalogue's business (`catalog.py`): the index folder by default, the database
when several hosts share one index.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import Unavailable
from assistant.ingest.chunking import chunk_document, embedding_text
from assistant.ingest.documents import Document, DocumentMeta
from assistant.search.catalog import (
    DocumentRecord,
    FileCatalog,
    GenerationContent,
    IndexCatalog,
    IndexedChunk,
)
from assistant.search.embeddings import Embedder
from assistant.search.keyword import BM25
from assistant.search.spelling import Speller
from assistant.search.vectorstore import (
    OPEN_END,
    OPEN_START,
    ExactSearch,
    GenerationRef,
    PassageColumns,
    PassageFilter,
    PassageMeta,
    VectorStore,
    VectorStoreFactory,
    day_number,
)
from assistant.text import TOKENIZER_VERSION, tokenize

log = logging.getLogger(__name__)

# Passages embedded and stored per batch while a generation is built.
_BATCH = 1000
# Indexes built before the manifest named a part were built with these.
_BEFORE_MANIFEST = {"vector_store": "chroma"}


class IndexNotBuilt(Unavailable):
    """Nothing has been ingested into this index yet."""

    code = "index_not_built"


class IndexMismatch(IndexNotBuilt):
    """The index was built with another embedding model than the settings name."""

    code = "index_mismatch"


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_total: int = 0
    generation: str | None = None
    rebuilt: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


class Snapshot:
    """One generation of the index, loaded for reading."""

    def __init__(
        self, ref: GenerationRef, content: GenerationContent, vectors: VectorStoreFactory
    ) -> None:
        self.ref = ref
        self.generation = ref.generation
        self.chunks = content.chunks
        self.manifest = content.manifest
        self.documents = content.documents
        self.position = {chunk.chunk_id: i for i, chunk in enumerate(self.chunks)}
        self.bm25 = BM25([chunk.tokens for chunk in self.chunks])
        self._columns = PassageColumns([passage_meta(chunk) for chunk in self.chunks])
        self._vector_store = vectors

    @cached_property
    def speller(self) -> Speller:
        """Corrects typing slips towards the words this generation's passages use."""
        return Speller(self.bm25.document_frequency())

    @cached_property
    def vectors(self) -> VectorStore:
        """Opened on first use: a generation built for another store is never opened."""
        return self._vector_store.open(self.ref)

    def close(self) -> None:
        """Release the vector store's resources for this generation."""
        if "vectors" in self.__dict__:
            self.vectors.close()

    def mask(self, where: PassageFilter) -> np.ndarray:
        """Which passages, in order, the filter admits (for keyword search)."""
        return self._columns.admitted(where)


class KnowledgeIndex:
    def __init__(
        self,
        directory: Path,
        embedder: Embedder,
        vectors: VectorStoreFactory | None = None,
        chunk_size: int = 360,
        chunk_overlap: int = 1,
        catalog: IndexCatalog | None = None,
    ) -> None:
        self.directory = directory
        self.embedder = embedder
        self.vectors = vectors or ExactSearch(embedder)
        self.catalog = catalog or FileCatalog(directory)
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self._snapshot: Snapshot | None = None
        # The generation before the current one stays open: a reader that took it a moment
        # ago may still be answering. The one before that is closed.
        self._previous: Snapshot | None = None
        self._opening = threading.Lock()

    @property
    def name(self) -> str:
        return self.directory.name

    def current_generation(self) -> str | None:
        return self.catalog.current()

    def serving_generation(self) -> str | None:
        """The generation this process has open, without asking the catalogue."""
        return self._snapshot.generation if self._snapshot else None

    def ping(self) -> None:
        """Raises unless the current generation can be read, its vectors included."""
        self.snapshot().vectors.count()

    def indexed_documents(self) -> dict[str, DocumentRecord]:
        """The documents of the generation being served; none before the first ingest."""
        return self._current().documents if self.current_generation() else {}

    def manifest(self) -> dict[str, Any]:
        """What an index must be rebuilt for when it changes: the embedding model, the
        keyword tokenizer and the vector store."""
        return {
            "embedder": self.embedder.name,
            "tokenizer": TOKENIZER_VERSION,
            "vector_store": self.vectors.name,
        }

    def snapshot(self) -> Snapshot:
        """The current generation, checked against the embedding model in use."""
        snapshot = self._current()
        for part, wanted in self.manifest().items():
            built_with = snapshot.manifest.get(part, _BEFORE_MANIFEST.get(part))
            if part != "tokenizer" and built_with != wanted:
                raise IndexMismatch(
                    f"the index at {self.catalog.location} was built with {part} "
                    f"{built_with!r} but the settings use {wanted!r}; run "
                    "`assistant ingest --prune` to rebuild it"
                )
        return snapshot

    def _current(self) -> Snapshot:
        """The current generation; reloaded when another process has switched it."""
        generation = self.current_generation()
        if generation is None:
            raise IndexNotBuilt(
                f"the index at {self.catalog.location} is empty; run `assistant ingest` first"
            )
        # Turns in several threads may see the switch at once: one of them opens the new
        # generation, and none closes a generation another has just been handed.
        with self._opening:
            if self._snapshot is None or self._snapshot.generation != generation:
                log.info("opening index generation %s", generation)
                opened = Snapshot(
                    self._ref(generation), self.catalog.read(generation), self.vectors
                )
                if self._previous is not None:
                    self._previous.close()
                self._previous, self._snapshot = self._snapshot, opened
            return self._snapshot

    def ingest(
        self,
        documents: Sequence[Document],
        prune: bool = False,
        keep_sources: frozenset[str] = frozenset(),
        progress: Callable[[int, int], None] | None = None,
    ) -> IngestReport:
        """Add or update documents. With `prune`, documents not given are removed, except
        those whose source file is in `keep_sources` (files that failed to load this time)."""
        with self.catalog.lock():
            old = self._current() if self.current_generation() else None
            # A new embedding model or tokenizer rebuilds every passage from its stored text.
            stale = old is not None and {**_BEFORE_MANIFEST, **old.manifest} != self.manifest()
            incoming = {doc.meta.id: doc for doc in documents}
            report, kept = compare(old.documents if old else {}, incoming, prune, keep_sources)
            if old is not None and not report.changed and not stale:
                report.chunks_total = len(old.chunks)
                report.generation = old.generation
                return report
            reused_ids = set(kept) | set(report.unchanged)
            reused = [c for c in (old.chunks if old else []) if c.doc_id in reused_ids]
            fresh = [
                chunk
                for doc_id in report.added + report.updated
                for chunk in _index_chunks(incoming[doc_id], self.chunk_size, self.chunk_overlap)
            ]
            if stale:
                log.info("index %s was built differently; rebuilding all passages", self.name)
                fresh = [_retokenized(c) for c in reused] + fresh
                reused = []
                report.rebuilt = True
            # An edited document keeps the vectors of the passages whose text it kept.
            recycled = _same_text(old, report.updated, fresh) if old and not stale else {}
            records = {**kept}
            for doc_id in report.unchanged + report.added + report.updated:
                doc = incoming[doc_id]
                records[doc_id] = DocumentRecord(
                    doc_id, doc.content_hash, doc.source, doc.meta.model_dump(mode="json")
                )
            generation = self._build(old, reused, fresh, recycled, records, progress)
            report.chunks_embedded = len(fresh) - len(recycled)
            report.chunks_total = len(reused) + len(fresh)
            report.generation = generation
            self.catalog.switch_to(generation)
            log.info("index %s now serves generation %s", self.name, generation)
            self._collect_garbage(keep={generation, old.generation if old else ""})
            return report

    def _build(
        self,
        old: Snapshot | None,
        reused: list[IndexedChunk],
        fresh: list[IndexedChunk],
        recycled: dict[str, str],
        records: dict[str, DocumentRecord],
        progress: Callable[[int, int], None] | None,
    ) -> str:
        generation = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        ref = self._ref(generation)
        store = self.vectors.create(ref)
        try:
            self._fill(store, old, reused, fresh, recycled, progress)
            store.close()
            chunks = sorted(reused + fresh, key=lambda c: (c.doc_id, c.ordinal))
            self.catalog.write(generation, GenerationContent(chunks, records, self.manifest()))
        except BaseException:
            # A half-built generation leaves nothing behind: no collection on a server that
            # no catalogue row names, no folder.
            with suppress(Exception):
                store.close()
            self._discard(generation)
            raise
        return generation

    def _fill(
        self,
        store: VectorStore,
        old: Snapshot | None,
        reused: list[IndexedChunk],
        fresh: list[IndexedChunk],
        recycled: dict[str, str],
        progress: Callable[[int, int], None] | None,
    ) -> None:
        """Store the vectors of every passage: those of unchanged passages copied from the
        old generation (`recycled` maps a new passage to the old one with its text), the
        others embedded."""
        copied = reused + [c for c in fresh if c.chunk_id in recycled]
        embedded = [c for c in fresh if c.chunk_id not in recycled]
        done, total = 0, len(copied) + len(embedded)
        for start in range(0, len(copied), _BATCH):
            part = copied[start : start + _BATCH]
            assert old is not None
            old_ids = [recycled.get(c.chunk_id, c.chunk_id) for c in part]
            _add(store, part, old.vectors.vectors(old_ids))
            done += len(part)
            if progress:
                progress(done, total)
        for start in range(0, len(embedded), _BATCH):
            part = embedded[start : start + _BATCH]
            texts = [embedding_text(c.title, c.section, c.text) for c in part]
            _add(store, part, self.embedder.embed_passages(texts))
            done += len(part)
            if progress:
                progress(done, total)

    def _collect_garbage(self, keep: set[str]) -> None:
        """Drop generations that no reader can still be using: all but the current and the
        one before it (a reader that opened it a moment ago may still be answering)."""
        for generation in self.catalog.generations():
            if generation not in keep:
                self._discard(generation)

    def _discard(self, generation: str) -> None:
        """Forget a generation: its vectors first, then its catalogue entry, so that a
        collection is never left that no entry names. A failure is logged, never raised:
        the ingest has switched already, and the next one tries again."""
        try:
            self.vectors.drop(self._ref(generation))
            self.catalog.drop(generation)
        except Exception as error:
            log.warning("generation %s of %s not dropped yet: %s", generation, self.name, error)

    def _ref(self, generation: str) -> GenerationRef:
        return GenerationRef(self.name, generation, self.catalog.folder(generation))


def compare(
    indexed: dict[str, DocumentRecord],
    incoming: dict[str, Document],
    prune: bool,
    keep_sources: frozenset[str],
) -> tuple[IngestReport, dict[str, DocumentRecord]]:
    """What an ingest changes: documents added, updated, unchanged and removed, and the
    indexed documents it keeps as they are."""
    report = IngestReport()
    kept: dict[str, DocumentRecord] = {}
    for doc_id, record in indexed.items():
        if doc_id in incoming:
            continue
        if prune and record.source not in keep_sources:
            report.removed.append(doc_id)
        else:
            kept[doc_id] = record
    for doc_id, doc in incoming.items():
        previous = indexed.get(doc_id)
        if previous is None:
            report.added.append(doc_id)
        elif previous.content_hash == doc.content_hash:
            report.unchanged.append(doc_id)
        else:
            report.updated.append(doc_id)
    return report, kept


def _same_text(
    old: Snapshot, updated: Sequence[str], fresh: Sequence[IndexedChunk]
) -> dict[str, str]:
    """Passages of updated documents whose embedded text an old passage of the same
    document had: the new passage's id, and the old one's whose vector it can keep."""
    changed = set(updated)
    before = {
        (c.doc_id, embedding_text(c.title, c.section, c.text)): c.chunk_id
        for c in old.chunks
        if c.doc_id in changed
    }
    found = {
        chunk.chunk_id: before.get(
            (chunk.doc_id, embedding_text(chunk.title, chunk.section, chunk.text))
        )
        for chunk in fresh
        if chunk.doc_id in changed
    }
    return {new: old_id for new, old_id in found.items() if old_id is not None}


def _index_chunks(document: Document, size: int, overlap: int) -> list[IndexedChunk]:
    meta: DocumentMeta = document.meta
    return [
        IndexedChunk(
            chunk_id=chunk.chunk_id,
            doc_id=meta.id,
            ordinal=chunk.ordinal,
            section=chunk.section,
            text=chunk.text,
            title=meta.title,
            kind=meta.kind,
            audience=str(meta.audience),
            language=meta.language,
            effective_from=meta.effective_from.isoformat() if meta.effective_from else None,
            effective_to=meta.effective_to.isoformat() if meta.effective_to else None,
            source=document.source,
            tokens=tuple(tokenize(f"{meta.title} {chunk.section} {chunk.text}")),
        )
        for chunk in chunk_document(document, size, overlap)
    ]


def _retokenized(chunk: IndexedChunk) -> IndexedChunk:
    return replace(chunk, tokens=tuple(tokenize(f"{chunk.title} {chunk.section} {chunk.text}")))


def passage_meta(chunk: IndexedChunk) -> PassageMeta:
    return PassageMeta(
        chunk.audience,
        day_number(chunk.effective_from, OPEN_START),
        day_number(chunk.effective_to, OPEN_END),
    )


def _add(store: VectorStore, chunks: Sequence[IndexedChunk], vectors: np.ndarray) -> None:
    store.add([c.chunk_id for c in chunks], vectors, [passage_meta(c) for c in chunks])
