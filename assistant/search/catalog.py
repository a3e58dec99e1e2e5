"""Where an index keeps everything but its vectors: which generation readers use, and each
generation's passages, documents and manifest.

Two catalogues:
- `FileCatalog` (the default) keeps them beside the vectors in the index folder:
  `CURRENT` names the generation, `generations/<gen>/` holds chunks.jsonl, documents.json and
  manifest.json. One machine's disk.
- `DatabaseCatalog` keeps them in the SQL database the sessions use (SQLite or PostgreSQL).
  With the vectors in a Chroma server, a worker on another host needs nothing but the
  database URL and the Chroma URL: its keyword index (BM25) is rebuilt in memory from the
  passages stored here.

Both switch generations with one atomic step (a rename, or one committed UPDATE), so a
reader sees the old generation or the new one, never half of either.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import uuid
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Integer, String, Text, delete, select, text
from sqlalchemy import insert as insert_into
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from assistant.database import connect, file_lock, session_scope
from assistant.errors import Unavailable
from assistant.migrations import upgrade

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexedChunk:
    chunk_id: str
    doc_id: str
    ordinal: int
    section: str
    text: str
    title: str
    kind: str
    audience: str
    language: str
    effective_from: str | None
    effective_to: str | None
    source: str
    tokens: tuple[str, ...]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> IndexedChunk:
        return cls(**{**row, "tokens": tuple(row["tokens"])})

    def as_row(self) -> dict[str, Any]:
        # Not dataclasses.asdict, which deep-copies every token: writing a generation's
        # passages took seconds per 10,000 of them.
        return {name: getattr(self, name) for name in _CHUNK_FIELDS}


_CHUNK_FIELDS = tuple(f.name for f in fields(IndexedChunk))


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    content_hash: str
    source: str
    meta: dict[str, Any]


@dataclass(frozen=True)
class GenerationContent:
    """One generation, less its vectors."""

    chunks: list[IndexedChunk]
    documents: dict[str, DocumentRecord]
    manifest: dict[str, Any]


class IndexCatalog(Protocol):
    """Which generation is current, and what each generation holds besides its vectors."""

    location: str

    def current(self) -> str | None:
        """The generation readers use; None before the first ingest."""

    def read(self, generation: str) -> GenerationContent: ...

    def write(self, generation: str, content: GenerationContent) -> None:
        """Store a generation being built; readers do not see it until `switch_to`."""

    def switch_to(self, generation: str) -> None:
        """Make `generation` current, in one atomic step."""

    def generations(self) -> list[str]:
        """Every generation stored, current or not."""

    def drop(self, generation: str) -> None:
        """Forget a generation no reader can still be using."""

    def folder(self, generation: str) -> Path:
        """A local folder for the generation's files (an embedded vector store keeps its
        vectors there)."""

    def lock(self) -> AbstractContextManager[None]:
        """Held while one ingest builds and switches: two ingests never interleave."""


# --------------------------------------------------------------------------- files


class FileCatalog:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.location = str(directory)

    @property
    def _pointer(self) -> Path:
        return self.directory / "CURRENT"

    def current(self) -> str | None:
        try:
            return str(json.loads(self._pointer.read_text(encoding="utf-8"))["generation"])
        except FileNotFoundError:
            return None

    def read(self, generation: str) -> GenerationContent:
        folder = self.folder(generation)
        manifest = folder / "manifest.json"
        documents = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
        return GenerationContent(
            chunks=[IndexedChunk.from_row(row) for row in _read_jsonl(folder / "chunks.jsonl")],
            documents={doc_id: DocumentRecord(**record) for doc_id, record in documents.items()},
            manifest=json.loads(manifest.read_text(encoding="utf-8")) if manifest.exists() else {},
        )

    def write(self, generation: str, content: GenerationContent) -> None:
        folder = self.folder(generation)
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(
            folder / "chunks.jsonl",
            "".join(json.dumps(c.as_row(), ensure_ascii=False) + "\n" for c in content.chunks),
        )
        _write_atomically(folder / "manifest.json", json.dumps(content.manifest))
        _write_atomically(folder / "documents.json", _documents_json(content.documents))

    def switch_to(self, generation: str) -> None:
        _write_atomically(self._pointer, json.dumps({"generation": generation}))

    def generations(self) -> list[str]:
        root = self.directory / "generations"
        return sorted(path.name for path in root.iterdir()) if root.exists() else []

    def drop(self, generation: str) -> None:
        shutil.rmtree(self.folder(generation), ignore_errors=True)

    def folder(self, generation: str) -> Path:
        return self.directory / "generations" / generation

    @contextmanager
    def lock(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with file_lock(self.directory / ".lock"):
            yield


# --------------------------------------------------------------------------- database


class _Base(DeclarativeBase):
    pass


class GenerationRow(_Base):
    __tablename__ = "index_generations"
    index_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    generation: Mapped[str] = mapped_column(String(64), primary_key=True)
    manifest: Mapped[str] = mapped_column(Text)
    documents: Mapped[str] = mapped_column(Text)


class PassageRow(_Base):
    __tablename__ = "index_passages"
    index_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    generation: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    chunk: Mapped[str] = mapped_column(Text)


class PointerRow(_Base):
    __tablename__ = "index_pointers"
    index_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    generation: Mapped[str] = mapped_column(String(64))


CATALOG_TABLES = _Base.metadata
# Passages inserted per statement while a generation is written.
_ROWS_PER_INSERT = 1000


class DatabaseCatalog:
    def __init__(self, url: str, index_name: str, workspace: Path) -> None:
        self.engine: Engine = connect(url)
        self.index_name = index_name
        self.location = f"{self.engine.url.render_as_string(hide_password=True)} ({index_name})"
        self._workspace = workspace
        self._local = threading.Lock()
        upgrade(self.engine)

    def _session(self, write: bool = False) -> AbstractContextManager[Session]:
        return session_scope(self.engine, write, _unavailable)

    def current(self) -> str | None:
        with self._session() as session:
            row = session.get(PointerRow, self.index_name)
            return row.generation if row else None

    def read(self, generation: str) -> GenerationContent:
        with self._session() as session:
            row = session.get(GenerationRow, (self.index_name, generation))
            if row is None:
                raise Unavailable(f"index generation {generation} is missing from {self.location}")
            chunks = session.scalars(
                select(PassageRow.chunk)
                .where(PassageRow.index_name == self.index_name)
                .where(PassageRow.generation == generation)
                .order_by(PassageRow.position)
            ).all()
            documents = json.loads(row.documents)
            return GenerationContent(
                chunks=[IndexedChunk.from_row(json.loads(chunk)) for chunk in chunks],
                documents={k: DocumentRecord(**v) for k, v in documents.items()},
                manifest=json.loads(row.manifest),
            )

    def write(self, generation: str, content: GenerationContent) -> None:
        rows = [
            {
                "index_name": self.index_name,
                "generation": generation,
                "position": position,
                "chunk": json.dumps(chunk.as_row(), ensure_ascii=False),
            }
            for position, chunk in enumerate(content.chunks)
        ]
        with self._session(write=True) as session:
            session.add(
                GenerationRow(
                    index_name=self.index_name,
                    generation=generation,
                    manifest=json.dumps(content.manifest),
                    documents=_documents_json(content.documents),
                )
            )
            insert = insert_into(PassageRow)
            for start in range(0, len(rows), _ROWS_PER_INSERT):
                session.execute(insert, rows[start : start + _ROWS_PER_INSERT])

    def switch_to(self, generation: str) -> None:
        with self._session(write=True) as session:
            pointer = session.get(PointerRow, self.index_name, with_for_update=True)
            if pointer is None:
                session.add(PointerRow(index_name=self.index_name, generation=generation))
            else:
                pointer.generation = generation

    def generations(self) -> list[str]:
        with self._session() as session:
            return sorted(
                session.scalars(
                    select(GenerationRow.generation).where(
                        GenerationRow.index_name == self.index_name
                    )
                ).all()
            )

    def drop(self, generation: str) -> None:
        with self._session(write=True) as session:
            for table in (PassageRow, GenerationRow):
                session.execute(
                    delete(table)
                    .where(table.index_name == self.index_name)
                    .where(table.generation == generation)
                )
        shutil.rmtree(self.folder(generation), ignore_errors=True)

    def folder(self, generation: str) -> Path:
        return self._workspace / "generations" / generation

    @contextmanager
    def lock(self) -> Iterator[None]:
        """PostgreSQL: an advisory lock, held by every host's ingest alike. SQLite lives on
        one machine's disk, so a lock file beside it is enough."""
        with self._local:
            if self.engine.dialect.name == "postgresql":
                key = zlib.crc32(f"index:{self.index_name}".encode())
                # Autocommit: a connection idle in a transaction for the whole ingest may be
                # ended by the server (idle_in_transaction_session_timeout), lock and all.
                with self._locking_connection() as connection:
                    connection.execute(text("select pg_advisory_lock(:key)"), {"key": key})
                    try:
                        yield
                    finally:
                        connection.execute(text("select pg_advisory_unlock(:key)"), {"key": key})
                return
            self._workspace.mkdir(parents=True, exist_ok=True)
            with file_lock(self._workspace / ".lock"):
                yield

    @contextmanager
    def _locking_connection(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as connection:
                yield connection.execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as error:
            raise _unavailable(error) from None


def _unavailable(error: SQLAlchemyError) -> Unavailable:
    return Unavailable(
        f"the index catalogue cannot be reached ({type(error).__name__}); try again shortly"
    )


# --------------------------------------------------------------------------- helpers


def _documents_json(documents: dict[str, DocumentRecord]) -> str:
    return json.dumps({k: vars(v) for k, v in sorted(documents.items())}, ensure_ascii=False)


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _write_atomically(path: Path, content: str) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
