"""Retrieval is tested twice: on the embedded defaults, and on the servers several hosts
share (the index catalogue in PostgreSQL, the vectors in a Chroma server)."""

from __future__ import annotations

import pytest

from assistant.ingest.documents import PlainFileDefaults
from assistant.pipeline import Assistant
from assistant.service import build_assistant, ingest_paths, open_index
from tests.conftest import KNOWLEDGE, make_settings


@pytest.fixture(scope="session")
def assistant_on_servers(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, chroma_url: str
) -> Assistant:
    settings = make_settings(
        tmp_path_factory.mktemp("on-servers"), database_url=postgres_url, chroma_url=chroma_url
    )
    loaded, _ = ingest_paths(open_index(settings), [KNOWLEDGE], PlainFileDefaults())
    assert not loaded.errors, loaded.errors
    # Served by a worker that shares nothing with the one that ingested but the two URLs.
    return build_assistant(
        settings.model_copy(update={"data_dir": tmp_path_factory.mktemp("host-2")})
    )


@pytest.fixture(params=["embedded", "servers"])
def assistant(request: pytest.FixtureRequest, assistant: Assistant) -> Assistant:
    if request.param == "servers":
        return request.getfixturevalue("assistant_on_servers")  # type: ignore[no-any-return]
    return assistant
