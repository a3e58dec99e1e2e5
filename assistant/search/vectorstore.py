"""The vector store seam: one index generation's passage vectors, queried with one filter
object that each backend translates for itself.

Built in: `chroma` (an embedded Chroma collection, the default) and `exact` (every vector
in one numpy array, searched exhaustively: no approximation, nothing beyond numpy). With
ASSISTANT_CHROMA_URL set, `chroma` is a Chroma server instead (`ChromaServer`), shared by every
worker on every host: one collection per index generation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import chromadb
import numpy as np
from chromadb.errors import NotFoundError

from assistant.errors import ConfigurationError, Unavailable
from assistant.registry import Registry
from assistant.search.embeddings import ChromaEmbeddings, Embedder

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
            meta.audience in self.audiences
            and meta.effective_from <= self.day <= meta.effective_to
        )

    def mask(self, audiences: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """The same test over columns of passages at once."""
        return np.isin(audiences, list(self.audiences)) & (starts <= self.day) & (ends >= self.day)


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

COLLECTION = "passages"


class ChromaStore:
    def __init__(self, client: Any, collection: Any) -> None:
        self._client = client
        self._collection = collection

    def add(self, ids: Sequence[str], vectors: np.ndarray, metas: Sequence[PassageMeta]) -> None:
        for start in range(0, len(ids), self._batch):
            end = start + self._batch
            self._collection.add(
                ids=list(ids[start:end]),
                embeddings=[np.asarray(v, dtype=np.float32) for v in vectors[start:end]],
                metadatas=[_chroma_meta(m) for m in metas[start:end]],
            )

    @property
    def _batch(self) -> int:
        return int(min(self._client.get_max_batch_size(), 1000))

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._collection.delete(ids=list(ids))

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        stored = self._collection.get(ids=list(ids), include=["embeddings"])
        by_id = dict(zip(stored["ids"], stored["embeddings"], strict=True))
        return np.asarray([by_id[i] for i in ids], dtype=np.float32)

    def query(self, vector: np.ndarray, limit: int, where: PassageFilter) -> list[str]:
        total = self.count()
        if total == 0:
            return []
        try:
            result = self._collection.query(
                query_embeddings=[vector],
                n_results=min(limit, total),
                where=chroma_where(where),
                include=[],
            )
        except Exception as error:  # a server gone away, a store that cannot be read
            raise _unreadable(error) from None
        return list(result["ids"][0])

    def count(self) -> int:
        try:
            return int(self._collection.count())
        except Exception as error:
            raise _unreadable(error) from None

    def close(self) -> None:
        # Chroma caches a client per path; closing it lets an old generation be deleted.
        self._client.close()


def _unreadable(error: Exception) -> Unavailable:
    return Unavailable(
        f"the vector store cannot be read ({type(error).__name__}); nothing was answered: "
        "try again shortly"
    )


def chroma_where(where: PassageFilter) -> dict[str, Any]:
    """A PassageFilter as a Chroma metadata clause."""
    return {
        "$and": [
            {"audience": {"$in": list(where.audiences)}},
            {"effective_from": {"$lte": where.day}},
            {"effective_to": {"$gte": where.day}},
        ]
    }


def _chroma_meta(meta: PassageMeta) -> dict[str, str | int]:
    return {
        "audience": meta.audience,
        "effective_from": meta.effective_from,
        "effective_to": meta.effective_to,
    }


class EmbeddedChroma:
    """Chroma persisted in the generation's own folder."""

    name = "chroma"

    def __init__(self, embedder: Embedder) -> None:
        # Our embedder, never Chroma's default one, which would download a model.
        self._embeddings = ChromaEmbeddings(embedder)

    def create(self, generation: GenerationRef) -> ChromaStore:
        client = _client(generation.folder / "chroma")
        return ChromaStore(client, _create_collection(client, COLLECTION, self._embeddings))

    def open(self, generation: GenerationRef) -> ChromaStore:
        client = _client(generation.folder / "chroma")
        return ChromaStore(
            client, client.get_collection(COLLECTION, embedding_function=self._embeddings)
        )

    def drop(self, generation: GenerationRef) -> None:
        """The vectors live in the generation's folder and go with it."""


def _create_collection(client: Any, name: str, embeddings: ChromaEmbeddings) -> Any:
    return client.create_collection(
        name, embedding_function=embeddings, configuration={"hnsw": {"space": "cosine"}}
    )


def _client(path: Path) -> Any:
    return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())


def _chroma_settings() -> chromadb.Settings:
    # A new object each time: chromadb writes the client's kind into the one it is given.
    return chromadb.Settings(anonymized_telemetry=False, allow_reset=False)

vector_stores.register("chroma")(EmbeddedChroma)


class ChromaServer:
    """A Chroma server (`chroma run`), one collection per index generation. Every worker on
    every host reads the same vectors; the catalogue says which collection is current."""

    # Its own name in the manifest: an index built in a folder is not served from a server.
    name = "chroma-server"

    def __init__(self, embedder: Embedder, url: str) -> None:
        self._embeddings = ChromaEmbeddings(embedder)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"ASSISTANT_CHROMA_URL {url!r} is not a server address: use http://host:port"
            )
        self.url = url
        self._host = parts.hostname
        self._ssl = parts.scheme == "https"
        self._port = parts.port or (443 if self._ssl else 80)

    def _client(self) -> Any:
        try:
            return chromadb.HttpClient(
                host=self._host, port=self._port, ssl=self._ssl, settings=_chroma_settings()
            )
        except Exception as error:  # the client checks the server as it is made
            raise Unavailable(
                f"the Chroma server at {self.url} cannot be reached ({type(error).__name__}); "
                "start it (`chroma run`) or check ASSISTANT_CHROMA_URL"
            ) from None

    def create(self, generation: GenerationRef) -> ChromaStore:
        client = self._client()
        return ChromaStore(
            client, _create_collection(client, generation.collection, self._embeddings)
        )

    def open(self, generation: GenerationRef) -> ChromaStore:
        client = self._client()
        try:
            collection = client.get_collection(
                generation.collection, embedding_function=self._embeddings
            )
        except Exception as error:  # missing (a server restarted empty) or unreachable
            client.close()
            raise Unavailable(
                f"collection {generation.collection} cannot be opened on the Chroma server at "
                f"{self.url} ({type(error).__name__}); if it is gone, rebuild the index with "
                "`assistant ingest --prune`"
            ) from None
        return ChromaStore(client, collection)

    def drop(self, generation: GenerationRef) -> None:
        client = self._client()
        try:
            client.delete_collection(generation.collection)
        except NotFoundError:
            pass  # already gone
        finally:
            client.close()


# --------------------------------------------------------------------------- exact


class ExactStore:
    """Every vector in memory, searched exhaustively; saved as .npy beside the index."""

    def __init__(self, location: Path, dimension: int) -> None:
        self._location = location
        self._ids: list[str] = []
        self._vectors = np.zeros((0, dimension), dtype=np.float32)
        self._metas: list[PassageMeta] = []
        self._dirty = False

    @classmethod
    def load(cls, location: Path, dimension: int) -> ExactStore:
        store = cls(location, dimension)
        rows = json.loads((location / "vectors.json").read_text(encoding="utf-8"))
        store._ids = [row["id"] for row in rows]
        store._metas = [PassageMeta(**row["meta"]) for row in rows]
        store._vectors = np.load(location / "vectors.npy")
        return store

    def add(self, ids: Sequence[str], vectors: np.ndarray, metas: Sequence[PassageMeta]) -> None:
        self.delete(ids)
        self._ids += list(ids)
        self._vectors = np.vstack([self._vectors, np.asarray(vectors, dtype=np.float32)])
        self._metas += list(metas)
        self._dirty = True

    def delete(self, ids: Sequence[str]) -> None:
        gone = set(ids)
        keep = [i for i, chunk_id in enumerate(self._ids) if chunk_id not in gone]
        if len(keep) == len(self._ids):
            return
        self._ids = [self._ids[i] for i in keep]
        self._metas = [self._metas[i] for i in keep]
        self._vectors = self._vectors[keep]
        self._dirty = True

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        row = {chunk_id: i for i, chunk_id in enumerate(self._ids)}
        return self._vectors[[row[i] for i in ids]]

    def query(self, vector: np.ndarray, limit: int, where: PassageFilter) -> list[str]:
        admitted = np.flatnonzero([where.admits(meta) for meta in self._metas])
        if admitted.size == 0:
            return []
        scores = self._vectors[admitted] @ np.asarray(vector, dtype=np.float32)
        best = np.argsort(-scores, kind="stable")[:limit]
        return [self._ids[admitted[i]] for i in best]

    def count(self) -> int:
        return len(self._ids)

    def close(self) -> None:
        if not self._dirty:
            return
        self._location.mkdir(parents=True, exist_ok=True)
        np.save(self._location / "vectors.npy", self._vectors)
        rows = [
            {"id": chunk_id, "meta": meta.__dict__}
            for chunk_id, meta in zip(self._ids, self._metas, strict=True)
        ]
        (self._location / "vectors.json").write_text(json.dumps(rows), encoding="utf-8")
        self._dirty = False


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
