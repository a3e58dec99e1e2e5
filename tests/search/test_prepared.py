"""Vectors prepared at ingest: a turn reads the model's own vectors for the passages'
sentences without embedding them, and a store that cannot be trusted is never read."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from assistant.pipeline import Assistant
from assistant.roles import Role
from assistant.search.embeddings import Embedder
from assistant.search.prepared import PreparedEmbedder, PreparedVectors
from assistant.service import build_assistant
from assistant.settings import Settings
from assistant.turn import TurnRequest

SENTENCES = ["大额存单起存金额为20万元。", "整存整取定期存款50元起存。", "借记卡年费全免。"]


class CountingModel:
    """The real model, counting the texts it is asked to embed."""

    def __init__(self, model: Embedder) -> None:
        self.model = model
        self.name = model.name
        self.dimension = model.dimension
        self.threads = model.threads
        self.embedded: list[str] = []

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return self.model.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.model.embed_query(text)


def store(tmp_path: Path, embedder: Embedder, model: str | None = None) -> PreparedVectors:
    return PreparedVectors(tmp_path / "prepared.sqlite", model or embedder.name, embedder.dimension)


def test_prepared_texts_get_the_models_own_vectors_without_embedding(
    tmp_path: Path, embedder: Embedder
) -> None:
    assert store(tmp_path, embedder).fill(SENTENCES, embedder.embed_passages) == 3
    counting = CountingModel(embedder)
    prepared = PreparedEmbedder(counting, store(tmp_path, embedder))

    vectors = prepared.embed_passages([SENTENCES[1], "一句新的话。", SENTENCES[0]])

    assert counting.embedded == ["一句新的话。"]
    expected = embedder.embed_passages([SENTENCES[1], "一句新的话。", SENTENCES[0]])
    assert np.allclose(vectors, expected, atol=1e-5)


def test_filling_again_embeds_only_new_texts_and_forgets_those_no_longer_wanted(
    tmp_path: Path, embedder: Embedder
) -> None:
    vectors = store(tmp_path, embedder)
    vectors.fill(SENTENCES, embedder.embed_passages)

    assert vectors.fill([SENTENCES[0], "新增的一句。"], embedder.embed_passages) == 1

    found = store(tmp_path, embedder).lookup([*SENTENCES, "新增的一句。"])
    assert set(found) == {SENTENCES[0], "新增的一句。"}


def test_a_store_made_with_another_model_is_not_read_and_is_rebuilt_when_filled(
    tmp_path: Path, embedder: Embedder
) -> None:
    store(tmp_path, embedder, model="another-model").fill(SENTENCES, embedder.embed_passages)

    assert store(tmp_path, embedder).lookup(SENTENCES) == {}
    assert store(tmp_path, embedder).fill(SENTENCES, embedder.embed_passages) == 3
    assert set(store(tmp_path, embedder).lookup(SENTENCES)) == set(SENTENCES)


def test_a_damaged_store_means_embedding_as_before(tmp_path: Path, embedder: Embedder) -> None:
    (tmp_path / "prepared.sqlite").write_bytes(b"not a database" * 100)
    counting = CountingModel(embedder)
    prepared = PreparedEmbedder(counting, store(tmp_path, embedder))

    vectors = prepared.embed_passages(SENTENCES)

    assert counting.embedded == SENTENCES
    assert np.allclose(vectors, embedder.embed_passages(SENTENCES), atol=1e-5)


@pytest.mark.parametrize(
    "damage",
    [
        np.ones(3, dtype=np.float32).tobytes(),  # another model's size
        b"\x00" * 13,  # not even whole numbers
        np.full(512, np.nan, dtype=np.float32).tobytes(),  # the right size, not a vector
    ],
)
def test_a_damaged_vector_is_never_served(
    tmp_path: Path, embedder: Embedder, damage: bytes
) -> None:
    vectors = store(tmp_path, embedder)
    vectors.fill(SENTENCES, embedder.embed_passages)
    with sqlite3.connect(tmp_path / "prepared.sqlite") as db:
        db.execute("UPDATE vectors SET vector = ?", (damage,))

    assert store(tmp_path, embedder).lookup(SENTENCES) == {}


def test_a_store_written_after_the_reader_started_is_read(
    tmp_path: Path, embedder: Embedder
) -> None:
    reader = store(tmp_path, embedder)
    assert reader.lookup(SENTENCES) == {}  # nothing prepared yet

    store(tmp_path, embedder).fill(SENTENCES, embedder.embed_passages)

    assert set(reader.lookup(SENTENCES)) == set(SENTENCES)


@pytest.mark.parametrize(
    "question", ["大额存单起存金额是多少？", "信用卡年费怎么收？", "How do I report a lost card?"]
)
def test_after_an_ingest_a_turn_embeds_none_of_the_sentences_it_ranks(
    assistant: Assistant, settings: Settings, question: str
) -> None:
    # The session's index was ingested and prepared as `assistant ingest` does; a worker
    # serving it counts what its model is asked to embed.
    served = build_assistant(settings)
    embedder = served.index.embedder
    assert isinstance(embedder, PreparedEmbedder)
    counting = CountingModel(embedder.model)
    embedder.model = counting

    result = served.answer(TurnRequest(question, Role.teller))

    assert result.citations, "the question is answered from the passages"
    ranked = set(served.texts_to_prepare(served.index.snapshot()))
    assert counting.embedded, "the question itself is still read by meaning"
    assert not ranked & set(counting.embedded)
