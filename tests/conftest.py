"""Shared fixtures: the real knowledge base, indexed once per test session with the real
embedding model, and read as of a fixed day so effective dates do not drift with the clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from assistant.ingest.documents import PlainFileDefaults, load_documents
from assistant.pipeline import Assistant
from assistant.search.embeddings import Embedder, load_embedder
from assistant.service import build_assistant, ingest_paths, open_index, prepare_vectors
from assistant.settings import Settings
from tests import servers

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
SEEDS = ROOT.parent / "shared" / "seeds"
AS_OF = date(2026, 6, 1)
# Every staff-only document in the real knowledge base, read from the files themselves.
STAFF_DOCS = frozenset(
    doc.meta.id
    for doc in load_documents([KNOWLEDGE], PlainFileDefaults()).documents
    if doc.meta.audience == "staff"
)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "knowledge_dir": KNOWLEDGE,
        "prompts_dir": ROOT / "prompts",
        "as_of": AS_OF,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder("use-m3", 2)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with servers.postgres() as url:
        yield url


@pytest.fixture(scope="session")
def chroma_url() -> Iterator[str]:
    with servers.chroma_server() as url:
        yield url


SMALL_MODEL = "qwen2.5-coder-0.5b"
SMALL_MODEL_FILE = ROOT / "data" / "models" / "qwen2.5-coder-0.5b-instruct.gguf"


@pytest.fixture(scope="session")
def small_model_url() -> Iterator[str]:
    """A real OpenAI-compatible server (llama.cpp's) for the small model, on loopback."""
    from assistant.answer.local_model import LocalServer

    if not SMALL_MODEL_FILE.is_file():
        pytest.skip(f"the small model is not installed: run `make test` ({SMALL_MODEL_FILE})")
    server = LocalServer(SMALL_MODEL_FILE, threads=2, context_tokens=4096).start()
    yield server.base_url
    server.stop()


def llm_settings(settings: Settings, **overrides: object) -> Settings:
    """Settings for the llm generator on the small model, patient enough for two cores."""
    values: dict[str, object] = {
        "generator": "llm",
        "llm_model": SMALL_MODEL,
        "llm_threads": 2,
        "llm_timeout_s": 120.0,
        "llm_max_tokens": 160,
        "models_file": ROOT / "models" / "local.yaml",
    }
    return settings.model_copy(update=values | overrides)


@pytest.fixture(scope="session")
def assistant(settings: Settings) -> Assistant:
    loaded, report = ingest_paths(open_index(settings), [KNOWLEDGE], PlainFileDefaults())
    assert not loaded.errors, loaded.errors
    assert report.chunks_total > 0
    served = build_assistant(settings)
    prepare_vectors(settings, served)  # as `assistant ingest` does: turns read these
    return served


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def front_matter(doc_id: str, body: str, **fields: str) -> str:
    meta = {"id": doc_id, "title": fields.pop("title", doc_id), "audience": "public", **fields}
    lines = "\n".join(f"{key}: {value}" for key, value in meta.items())
    return f"---\n{lines}\n---\n{body}\n"
