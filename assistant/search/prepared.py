"""Vectors prepared at ingest for the texts that turns will embed.

A turn ranks every sentence of the passages it retrieved by its similarity to the question,
and the output guard reads the reply's sentences by meaning. Those sentences come from the
index, not from the question: embedding them turn after turn is work that belongs to the
ingest. `assistant ingest` embeds them once and keeps them here; a turn then embeds only
what is new, its question. On two cores this is half of a turn's work.

The store is content-addressed: a vector is found by a hash of the model's name and the
text, so it can only ever stand for that text under that model. A store that is missing,
unreadable, for another model or holding a vector of the wrong size is read as "not
prepared": the model embeds the text, exactly as it would have. One SQLite file per index
(write-ahead log, so workers keep reading while an ingest writes), written by the ingest
under the index's lock.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from pathlib import Path

import numpy as np

from assistant.search.embeddings import Embedder

log = logging.getLogger(__name__)

# Texts embedded per model call while a store is filled.
_FILL_BATCH = 256
# SQLite's limit on parameters in one statement is 32766; a turn asks for a few dozen.
_LOOKUP_BATCH = 900

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS model (name TEXT NOT NULL, dimension INTEGER NOT NULL)",
)


def text_key(model: str, text: str) -> bytes:
    """The key of a text's vector under a model."""
    return hashlib.blake2b(f"{model}\x00{text}".encode(), digest_size=16).digest()


class PreparedVectors:
    """One index's prepared vectors, for one embedding model."""

    def __init__(self, path: Path, model: str, dimension: int) -> None:
        self.path = path
        self.model = model
        self.dimension = dimension
        self._reader: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def lookup(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The prepared vectors of those texts that have one; never raises."""
        try:
            with self._lock:
                reader = self._open()
                if reader is None:
                    return {}
                return self._read(reader, list(dict.fromkeys(texts)))
        except sqlite3.Error as error:
            log.warning("prepared vectors at %s unreadable, embedding: %s", self.path, error)
            self.close()
            return {}

    def fill(self, texts: Iterable[str], embed: Callable[[Sequence[str]], np.ndarray]) -> int:
        """Keep a vector for exactly these texts: embed those not prepared yet, forget the
        others. Returns how many were embedded. The caller holds the index's lock."""
        wanted = {text_key(self.model, text): text for text in texts}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            for statement in _SCHEMA:
                db.execute(statement)
            if not self._same_model(db):
                with db:
                    db.execute("DELETE FROM vectors")
                    db.execute("DELETE FROM model")
                    db.execute("INSERT INTO model VALUES (?, ?)", (self.model, self.dimension))
            held = {key for (key,) in db.execute("SELECT key FROM vectors")}
            missing = [key for key in wanted if key not in held]
            for start in range(0, len(missing), _FILL_BATCH):
                keys = missing[start : start + _FILL_BATCH]
                vectors = np.asarray(embed([wanted[key] for key in keys]), dtype=np.float32)
                rows = [(key, row.tobytes()) for key, row in zip(keys, vectors, strict=True)]
                with db:
                    db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
            with db:
                db.executemany(
                    "DELETE FROM vectors WHERE key = ?", [(key,) for key in held - wanted.keys()]
                )
        return len(missing)

    def close(self) -> None:
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def _open(self) -> sqlite3.Connection | None:
        """The reading connection, opened once the store exists (an ingest may write it
        after this process started); None while there is none, or one for another model."""
        if self._reader is None and self.path.exists():
            reader = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
            if not self._same_model(reader):
                reader.close()
                return None
            self._reader = reader
        return self._reader

    def _same_model(self, db: sqlite3.Connection) -> bool:
        try:
            rows = db.execute("SELECT name, dimension FROM model").fetchall()
        except sqlite3.OperationalError:  # no table yet
            return False
        return rows == [(self.model, self.dimension)]

    def _read(self, reader: sqlite3.Connection, texts: list[str]) -> dict[str, np.ndarray]:
        by_key = {text_key(self.model, text): text for text in texts}
        keys = list(by_key)
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), _LOOKUP_BATCH):
            part = keys[start : start + _LOOKUP_BATCH]
            rows = reader.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(part))})",
                part,
            )
            for key, blob in rows:
                vector = self._sound(blob)
                if vector is not None:
                    found[by_key[key]] = vector
        return found

    def _sound(self, blob: object) -> np.ndarray | None:
        """The stored vector, when it can be this model's: bytes of its size, all finite.
        Anything else (another model's, a damaged row) is embedded instead."""
        if not isinstance(blob, bytes) or len(blob) != 4 * self.dimension:
            return None
        vector = np.frombuffer(blob, dtype=np.float32)
        return vector if bool(np.isfinite(vector).all()) else None


class PreparedEmbedder:
    """An embedder that answers from an index's prepared vectors where it can, and asks the
    model for the rest."""

    def __init__(self, model: Embedder, prepared: PreparedVectors) -> None:
        self.model = model
        self.prepared = prepared
        self.name = model.name
        self.dimension = model.dimension
        self.threads = model.threads

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        known = self.prepared.lookup(texts)
        missing = list(dict.fromkeys(text for text in texts if text not in known))
        if missing:
            known.update(zip(missing, self.model.embed_passages(missing), strict=True))
        return np.stack([known[text] for text in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self.model.embed_query(text)
