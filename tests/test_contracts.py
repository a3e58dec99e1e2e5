"""What every implementation of a seam must do, run against each built-in one and against a
plugin's: Generator, Embedder and VectorStore. A new backend is added to these lists and
passes the same tests."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from assistant.answer.generator import GenerationInput, Generator, GeneratorContext, generators
from assistant.errors import Unavailable
from assistant.pipeline import Assistant
from assistant.registry import load_plugins
from assistant.roles import Role
from assistant.search.catalog import (
    DatabaseCatalog,
    DocumentRecord,
    FileCatalog,
    GenerationContent,
    IndexCatalog,
    IndexedChunk,
)
from assistant.search.chroma import ChromaServer
from assistant.search.embeddings import load_embedder
from assistant.search.glossary import Glossary
from assistant.search.vectorstore import (
    GenerationRef,
    PassageFilter,
    PassageMeta,
    vector_stores,
)
from tests.conftest import ROOT, llm_settings

load_plugins(["tests.plugins.first_passage"])

# ---------------------------------------------------------------------------- Generator


@pytest.fixture(params=["extractive", "first-passage", "llm"])
def generator(request: pytest.FixtureRequest, assistant: Assistant) -> Generator:
    settings = assistant.settings
    if request.param == "llm":  # a real model server: the small model, on loopback
        url = request.getfixturevalue("small_model_url")
        settings = llm_settings(settings, llm_backend="openai", llm_base_url=url)
    context = GeneratorContext(
        ROOT / "prompts",
        assistant.embedder,
        Glossary.load(ROOT / "knowledge" / "glossary.yaml"),
        settings.min_answer_support,
        settings.key_term_rarity,
        settings.answer_max_sentences,
        settings.answer_max_chars,
        settings,
    )
    return generators.factory(request.param)(context)


def question(assistant: Assistant, text: str) -> GenerationInput:
    snapshot = assistant.index.snapshot()
    passages = assistant.search(text, Role.customer)
    return GenerationInput(text, "zh-CN", passages, snapshot.bm25.idf)


def test_a_generator_cites_only_passages_it_was_given(
    generator: Generator, assistant: Assistant
) -> None:
    request = question(assistant, "大额存单起存金额是多少？")
    draft = generator.generate(request)
    assert draft.grounded and draft.citations
    given = {p.chunk.chunk_id for p in request.passages}
    assert {c.chunk_id for c in draft.citations} <= given
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", draft.text)}
    assert markers <= {c.n for c in draft.citations}
    # A quoted draft cites as it quotes; one in a writer's own words may leave a sentence
    # unmarked for the ground stage to attribute to its passage, or remove.
    assert markers or not draft.quoted


def test_a_generator_streams_what_it_would_write_whole(
    generator: Generator, assistant: Assistant
) -> None:
    request = question(assistant, "个人养老金每年最多能存多少？")
    whole = generator.generate(request)
    streamed = generator.stream(request)
    assert "".join(streamed.pieces) == whole.text
    assert streamed.citations == whole.citations and streamed.grounded == whole.grounded


def test_a_generator_without_passages_declines_and_cites_nothing(generator: Generator) -> None:
    draft = generator.generate(GenerationInput("大额存单起存金额是多少？", "zh-CN", []))
    assert not draft.grounded and draft.citations == [] and draft.text


# ---------------------------------------------------------------------------- Embedder


@pytest.fixture(scope="module", params=["use-m3", "e5-small", "minilm"])
def any_embedder(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    return load_embedder(request.param, 2)


def test_an_embedder_gives_unit_vectors_of_its_dimension(any_embedder) -> None:  # type: ignore[no-untyped-def]
    passages = any_embedder.embed_passages(["Lost cards are frozen by phone.", "房贷利率"])
    assert passages.shape == (2, any_embedder.dimension)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-4)
    assert any_embedder.embed_passages([]).shape == (0, any_embedder.dimension)
    assert any_embedder.embed_query("lost card").shape == (any_embedder.dimension,)


def test_an_embedder_puts_a_question_nearest_its_answer(any_embedder) -> None:  # type: ignore[no-untyped-def]
    passages = any_embedder.embed_passages(
        ["Call 95388 to report a lost or stolen card.", "Gold bars are sold in 10 g units."]
    )
    query = any_embedder.embed_query("How do I report a stolen card?")
    assert passages[0] @ query > passages[1] @ query


# ---------------------------------------------------------------------------- VectorStore

ON = date(2026, 6, 1)
PUBLIC = PassageFilter(("public",), ON)
STAFF = PassageFilter(("public", "staff"), ON)


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


class ThreeDimensions:
    name = "three"
    dimension = 3
    threads = 1


@pytest.fixture(params=[*vector_stores.names(), "chroma server"])
def stores(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    if request.param == "chroma server":
        return ChromaServer(ThreeDimensions(), request.getfixturevalue("chroma_url"))  # type: ignore[arg-type]
    return vector_stores.factory(request.param)(ThreeDimensions())  # type: ignore[arg-type]


def generation(location: Path) -> GenerationRef:
    # A name of its own for each test: server stores outlive the test's folder.
    return GenerationRef("contract", location.name.replace("_", "-")[-40:], location)


def filled(stores, location: Path):  # type: ignore[no-untyped-def]
    store = stores.create(generation(location))
    store.add(
        ["near", "far", "staff", "expired"],
        np.stack([unit(1, 0, 0), unit(0, 1, 0), unit(1, 0.1, 0), unit(1, 0.05, 0)]),
        [
            PassageMeta("public"),
            PassageMeta("public"),
            PassageMeta("staff"),
            PassageMeta("public", 20250101, 20251231),
        ],
    )
    return store


def test_a_store_returns_the_nearest_admitted_passages_first(stores, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = filled(stores, tmp_path)
    assert store.query(unit(1, 0, 0), 10, PUBLIC) == ["near", "far"]
    assert store.query(unit(1, 0, 0), 10, STAFF) == ["near", "staff", "far"]
    assert store.query(unit(0, 1, 0), 1, STAFF) == ["far"]
    assert store.count() == 4
    store.close()


def test_a_store_keeps_vectors_across_reopening_and_forgets_deleted_ones(
    stores,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    filled(stores, tmp_path).close()
    store = stores.open(generation(tmp_path))
    assert np.allclose(store.vectors(["far", "near"]), [unit(0, 1, 0), unit(1, 0, 0)], atol=1e-6)
    store.delete(["near", "unknown"])
    assert store.query(unit(1, 0, 0), 10, PUBLIC) == ["far"]
    assert store.count() == 3
    store.close()


def test_a_store_built_empty_opens_empty(stores, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    stores.create(generation(tmp_path)).close()
    store = stores.open(generation(tmp_path))
    assert store.count() == 0 and store.query(unit(1, 0, 0), 3, STAFF) == []
    store.close()


def test_a_passage_the_filter_refuses_is_never_returned_even_for_a_broken_query(
    stores,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    store = filled(stores, tmp_path)
    broken = np.full(3, np.nan, dtype=np.float32)
    try:
        found = store.query(broken, 10, PUBLIC)
    except Unavailable:
        found = []  # a store may refuse such a query outright
    assert set(found) <= {"near", "far"}
    store.close()


def test_a_chroma_server_forgets_a_dropped_generation_and_keeps_the_others(
    chroma_url: str, tmp_path: Path
) -> None:
    stores = ChromaServer(ThreeDimensions(), chroma_url)  # type: ignore[arg-type]
    kept, dropped = tmp_path / "kept", tmp_path / "dropped"
    filled(stores, kept).close()
    filled(stores, dropped).close()
    stores.drop(generation(dropped))
    with pytest.raises(Unavailable, match="cannot be opened on the Chroma server"):
        stores.open(generation(dropped))
    assert stores.open(generation(kept)).count() == 4


def test_the_filter_admits_by_audience_and_day() -> None:
    assert PUBLIC.admits(PassageMeta("public"))
    assert not PUBLIC.admits(PassageMeta("staff"))
    assert not PUBLIC.admits(PassageMeta("public", 20260602))
    assert STAFF.admits(PassageMeta("staff", 20260101, 20260601))


# ---------------------------------------------------------------------------- IndexCatalog


@pytest.fixture(params=["files", "sqlite", "postgresql"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> IndexCatalog:
    if request.param == "files":
        return FileCatalog(tmp_path / "idx")
    url = (
        request.getfixturevalue("postgres_url")
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path / 'catalog.db'}"
    )
    return DatabaseCatalog(url, f"idx-{tmp_path.name[-20:]}", tmp_path / "idx")


def content(text: str) -> GenerationContent:
    chunk = IndexedChunk(
        "cd#0", "cd", 0, "起存金额", text, "大额存单", "product", "public", "zh-CN",
        "2026-01-01", None, "kb/cd.md", ("起存", "金额"),
    )  # fmt: skip
    record = DocumentRecord("cd", "hash-1", "kb/cd.md", {"title": "大额存单"})
    return GenerationContent([chunk], {"cd": record}, {"embedder": "use-m3"})


def test_a_catalogue_shows_a_generation_only_once_switched_to_it(catalog: IndexCatalog) -> None:
    assert catalog.current() is None and catalog.generations() == []
    with catalog.lock():
        catalog.write("g1", content("起存金额为20万元。"))
        assert catalog.current() is None
        catalog.switch_to("g1")
        catalog.write("g2", content("起存金额为30万元。"))
    assert catalog.current() == "g1"
    assert catalog.read("g1") == content("起存金额为20万元。")
    catalog.switch_to("g2")
    catalog.drop("g1")
    assert catalog.current() == "g2" and catalog.generations() == ["g2"]
    assert catalog.read("g2").chunks[0].text == "起存金额为30万元。"
