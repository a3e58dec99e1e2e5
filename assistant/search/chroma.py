"""Chroma behind the vector store seam: embedded in a generation's folder (`chroma`), or a
Chroma server (`chroma run`) shared by every worker on every host, one collection per index
generation. Imported only when one of them is chosen."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import chromadb
import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.errors import NotFoundError

from assistant.errors import ConfigurationError, Unavailable
from assistant.search.embeddings import Embedder, load_embedder
from assistant.search.vectorstore import GenerationRef, PassageFilter, PassageMeta


class ChromaEmbeddings(EmbeddingFunction[Documents]):
    """Our embedder as a Chroma embedding function, so Chroma never falls back to its own
    downloader when a collection is opened."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:
        return list(self._embedder.embed_passages(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        return [self._embedder.embed_query(text) for text in input]

    @staticmethod
    def name() -> str:
        return "bank-assistant"

    def get_config(self) -> dict[str, Any]:
        return {"model": self._embedder.name, "threads": self._embedder.threads}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddings:
        return ChromaEmbeddings(load_embedder(config["model"], int(config.get("threads", 2))))

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"


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
