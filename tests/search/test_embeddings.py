"""Offline embedders, including the sentence-transformers path for a bank's own model."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import Unavailable
from assistant.ingest.documents import PlainFileDefaults, parse_document
from assistant.roles import Audience, Role
from assistant.search.chroma import ChromaEmbeddings
from assistant.search.embeddings import (
    CoalescingEmbedder,
    EmbeddingModelError,
    RememberingEmbedder,
    load_embedder,
    minilm_path,
)
from assistant.search.index import KnowledgeIndex
from assistant.search.langchain_adapter import LangChainAdapter
from assistant.search.retrieval import search
from tests.conftest import AS_OF, front_matter


def test_multilingual_default_relates_chinese_traditional_and_english(embedder) -> None:  # type: ignore[no-untyped-def]
    simplified = embedder.embed_query("大额存单起存金额是多少？")
    traditional = embedder.embed_query("大額存單起存金額是多少？")
    english = embedder.embed_query("What is the minimum deposit for a certificate of deposit?")
    unrelated = embedder.embed_query("今天天气很好，我们去公园散步。")
    assert np.linalg.norm(simplified) == pytest.approx(1, abs=1e-4)
    assert simplified @ traditional > simplified @ unrelated
    assert simplified @ english > simplified @ unrelated


def test_a_sentence_transformers_model_directory_loads_offline_and_ranks() -> None:
    model = load_embedder(f"st:{minilm_path()}", 2)
    assert model.dimension == 384
    passages = model.embed_passages(["A lost card can be reported by phone.", "Mortgage rates."])
    query = model.embed_query("How do I report a lost card?")
    assert passages.shape == (2, 384)
    assert passages[0] @ query > passages[1] @ query


def test_an_index_built_on_a_sentence_transformers_model_answers(tmp_path: Path) -> None:
    model = load_embedder("minilm", 2)
    index = KnowledgeIndex(tmp_path / "idx", model)
    docs = [
        parse_document(
            front_matter("card", "# Lost card\n\nCall 95388 to freeze a lost card."),
            "card.md",
            PlainFileDefaults(Audience.public),
        ),
        parse_document(
            front_matter("cash", "# Cash\n\nBook large cash withdrawals a day ahead."),
            "cash.md",
            PlainFileDefaults(Audience.public),
        ),
    ]
    index.ingest(docs)
    found = search(index.snapshot(), model, "my card was stolen", Role.customer, 2, AS_OF)
    assert found[0].chunk.doc_id == "card"


def test_a_missing_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingModelError, match="does not exist"):
        load_embedder(f"st:{tmp_path / 'bge-small-zh'}", 2)
    with pytest.raises(EmbeddingModelError, match="unknown embedding model"):
        load_embedder("openai-ada", 2)


def test_adapters_expose_the_same_vectors(embedder) -> None:  # type: ignore[no-untyped-def]
    chroma = ChromaEmbeddings(embedder)
    langchain = LangChainAdapter(embedder)
    text = "个人养老金每年缴存上限为12,000元。"
    direct = embedder.embed_passages([text])[0]
    assert np.allclose(chroma([text])[0], direct, atol=1e-5)
    assert np.allclose(langchain.embed_documents([text])[0], direct, atol=1e-5)
    assert chroma.get_config()["model"] == "use-m3"


def test_a_remembering_embedder_gives_the_models_vectors_and_forgets_the_oldest(
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    remembering = RememberingEmbedder(embedder, capacity=2)
    texts = [
        "大额存单20万元起存。",
        "信用卡挂失请拨打95388。",
        "个人养老金每年缴存上限为12,000元。",
    ]
    first = remembering.embed_passages(texts[:2] + texts[:1])
    assert np.allclose(first, embedder.embed_passages(texts[:2] + texts[:1]), atol=1e-5)
    # A query and a passage of the same text are different vectors for some models, so a
    # remembered passage never answers a query.
    assert np.allclose(remembering.embed_query(texts[0]), embedder.embed_query(texts[0]), atol=1e-5)
    remembering.embed_passages(texts[2:])
    assert len(remembering._vectors) == 2
    assert ("passage", texts[0]) not in remembering._vectors
    returned = remembering.embed_passages(texts[2:])
    returned[0] = 0  # the caller's copy; what is remembered stays as the model gave it
    assert np.allclose(remembering.embed_passages(texts[2:]), embedder.embed_passages(texts[2:]))


class SlowCountingModel:
    """The real model, counting its calls, and slow enough that callers pile up."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.name, self.dimension, self.threads = inner.name, inner.dimension, inner.threads
        self._inner = inner
        self.calls = 0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        time.sleep(0.05)
        if any("坏" in text for text in texts):
            raise RuntimeError("the model failed")
        return self._inner.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._inner.embed_query(text)


def test_concurrent_callers_share_one_model_call_and_each_gets_its_own_vectors(
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    model = SlowCountingModel(embedder)
    coalescing = CoalescingEmbedder(model)  # type: ignore[arg-type]
    asks = [
        [f"第{n}个问题：大额存单起存金额是多少？", f"第{n}句：信用卡年费怎么收？"]
        for n in range(12)
    ]
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(coalescing.embed_passages, asks))
    assert model.calls < len(asks)
    for texts, vectors in zip(asks, answers, strict=True):
        assert np.allclose(vectors, embedder.embed_passages(texts), atol=1e-5)


def test_a_failed_model_call_fails_every_caller_in_it_and_the_next_calls_work(
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    coalescing = CoalescingEmbedder(SlowCountingModel(embedder))  # type: ignore[arg-type]
    with pytest.raises(Unavailable, match="the model failed"):
        coalescing.embed_passages(["坏句子"])
    assert coalescing.embed_passages(["好句子"]).shape == (1, embedder.dimension)
