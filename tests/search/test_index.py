"""The index: incremental by content hash, atomic switches, bad files never cost data."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from assistant.ingest.documents import PlainFileDefaults, load_documents
from assistant.roles import Audience, Role
from assistant.search.catalog import DatabaseCatalog
from assistant.search.chroma import ChromaServer
from assistant.search.embeddings import Embedder
from assistant.search.index import IndexNotBuilt, KnowledgeIndex
from assistant.search.retrieval import search
from assistant.service import ingest_paths
from assistant.settings import Settings
from tests.conftest import front_matter, write

DEFAULTS = PlainFileDefaults(Audience.public)
TODAY = date(2026, 6, 1)


class BrokenEmbedder:
    """Wraps the real model and fails while embedding passages, as a crash mid-ingest would."""

    def __init__(self, inner: Embedder) -> None:
        self.name, self.dimension, self.threads = inner.name, inner.dimension, inner.threads
        self._inner = inner

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("embedding worker died")

    def embed_query(self, text: str) -> np.ndarray:
        return self._inner.embed_query(text)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    source = tmp_path / "kb"
    write(source / "cd.md", front_matter("cd", "# 大额存单\n\n## 起存金额\n起存金额为20万元。"))
    write(source / "card.md", front_matter("card", "# 挂失\n\n## 办理\n丢卡请拨打95388挂失。"))
    return source


IndexAt = Callable[[Embedder], KnowledgeIndex]


@pytest.fixture(params=["files", "servers"])
def index_at(request: pytest.FixtureRequest, tmp_path: Path) -> IndexAt:
    """Opens this test's one index, as any number of processes would: in its folder, or on
    the servers several hosts share (catalogue in PostgreSQL, vectors in a Chroma server)."""
    directory = tmp_path / f"idx-{uuid.uuid4().hex[:8]}"
    if request.param == "files":
        return lambda embedder: KnowledgeIndex(directory, embedder)
    database = request.getfixturevalue("postgres_url")
    chroma = request.getfixturevalue("chroma_url")
    return lambda embedder: KnowledgeIndex(
        directory,
        embedder,
        ChromaServer(embedder, chroma),
        catalog=DatabaseCatalog(database, directory.name, directory),
    )


def ids_for(index: KnowledgeIndex, embedder: Embedder, query: str) -> list[str]:
    return [
        p.chunk.doc_id for p in search(index.snapshot(), embedder, query, Role.teller, 5, TODAY)
    ]


def test_an_empty_index_says_how_to_fill_it(index_at: IndexAt, embedder: Embedder) -> None:
    with pytest.raises(IndexNotBuilt, match="assistant ingest"):
        index_at(embedder).snapshot()


def test_reingesting_unchanged_documents_embeds_nothing(
    index_at: IndexAt, folder: Path, embedder: Embedder
) -> None:
    index = index_at(embedder)
    _, first = ingest_paths(index, [folder], DEFAULTS)
    assert sorted(first.added) == ["card", "cd"] and first.chunks_embedded == 2
    _, second = ingest_paths(index, [folder], DEFAULTS)
    assert sorted(second.unchanged) == ["card", "cd"]
    assert second.chunks_embedded == 0 and second.generation == first.generation


def test_changing_one_document_reembeds_only_that_document(
    index_at: IndexAt, folder: Path, embedder: Embedder
) -> None:
    index = index_at(embedder)
    ingest_paths(index, [folder], DEFAULTS)
    write(folder / "cd.md", front_matter("cd", "# 大额存单\n\n## 起存金额\n起存金额调整为30万元。"))
    _, report = ingest_paths(index, [folder], DEFAULTS)
    assert report.updated == ["cd"] and report.unchanged == ["card"]
    assert report.chunks_embedded == 1 and report.chunks_total == 2
    texts = {c.doc_id: c.text for c in index.snapshot().chunks}
    assert texts["cd"] == "起存金额调整为30万元。"
    # The reused embedding still finds its passage.
    assert ids_for(index, embedder, "丢卡 挂失 95388")[0] == "card"


class CountingEmbedder:
    """The real embedder, counting the passages it was asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.name, self.dimension, self.threads = inner.name, inner.dimension, inner.threads
        self._inner = inner
        self.embedded: list[str] = []

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += texts
        return self._inner.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._inner.embed_query(text)


def test_an_edited_document_reembeds_only_the_passages_whose_text_changed(
    index_at: IndexAt, tmp_path: Path, embedder: Embedder
) -> None:
    counting = CountingEmbedder(embedder)
    index = index_at(counting)  # type: ignore[arg-type]
    sheet = tmp_path / "kb" / "cd.md"
    body = "# 大额存单\n\n## 起存金额\n起存金额为20万元。\n\n## 提前支取\n提前支取按活期利率计息。"
    write(sheet, front_matter("cd", body))
    ingest_paths(index, [sheet], DEFAULTS)
    counting.embedded.clear()
    write(sheet, front_matter("cd", body.replace("活期利率", "支取日活期挂牌利率")))
    _, report = ingest_paths(index, [sheet], DEFAULTS)
    assert report.updated == ["cd"] and report.chunks_embedded == 1 and report.chunks_total == 2
    assert len(counting.embedded) == 1 and "挂牌利率" in counting.embedded[0]
    # The kept vector is the old passage's own: it still finds its passage first.
    found = search(index.snapshot(), embedder, "大额存单起存金额", Role.teller, 2, TODAY)
    assert found[0].chunk.section == "起存金额" and found[0].dense_rank == 1


def test_a_malformed_file_is_skipped_and_its_indexed_version_kept(
    index_at: IndexAt, folder: Path, embedder: Embedder
) -> None:
    index = index_at(embedder)
    ingest_paths(index, [folder], DEFAULTS)
    write(folder / "card.md", "---\nid: card\ntitle: [broken\n---\n新内容。")
    write(folder / "new.md", front_matter("new", "# 新文档\n\n营业时间为9:00至17:00。"))
    loaded, report = ingest_paths(index, [folder], DEFAULTS, prune=True)
    assert [Path(e.source).name for e in loaded.errors] == ["card.md"]
    assert report.added == ["new"] and report.removed == []
    assert {c.doc_id for c in index.snapshot().chunks} == {"card", "cd", "new"}
    assert "丢卡请拨打95388挂失。" in {c.text for c in index.snapshot().chunks}


def test_prune_removes_documents_that_are_gone(
    index_at: IndexAt, folder: Path, embedder: Embedder
) -> None:
    index = index_at(embedder)
    ingest_paths(index, [folder], DEFAULTS)
    (folder / "card.md").unlink()
    _, kept = ingest_paths(index, [folder], DEFAULTS)
    assert kept.removed == [] and "card" in index.snapshot().documents
    _, pruned = ingest_paths(index, [folder], DEFAULTS, prune=True)
    assert pruned.removed == ["card"]
    assert ids_for(index, embedder, "丢卡 挂失") == ["cd"]


def test_a_failed_ingest_leaves_the_served_index_as_it_was(
    index_at: IndexAt, folder: Path, embedder: Embedder
) -> None:
    good = index_at(embedder)
    ingest_paths(good, [folder], DEFAULTS)
    before = good.current_generation()
    write(folder / "cd.md", front_matter("cd", "# 大额存单\n\n起存金额调整为30万元。"))
    broken = index_at(BrokenEmbedder(embedder))
    with pytest.raises(RuntimeError, match="embedding worker died"):
        ingest_paths(broken, [folder], DEFAULTS)
    assert good.current_generation() == before
    assert good.catalog.generations() == [before]  # nothing half-built is left behind
    assert "起存金额为20万元。" in {c.text for c in good.snapshot().chunks}
    assert ids_for(good, embedder, "大额存单起存金额")[0] == "cd"


def test_a_reader_keeps_its_snapshot_while_a_new_generation_is_switched_in(
    index_at: IndexAt, folder: Path, embedder: Embedder
) -> None:
    index = index_at(embedder)
    ingest_paths(index, [folder], DEFAULTS)
    reader = index.snapshot()
    writer = index_at(embedder)
    write(folder / "extra.md", front_matter("extra", "# 外汇\n\n外币兑换请到网点办理。"))
    ingest_paths(writer, [folder], DEFAULTS)
    # The old snapshot still answers completely from the old generation...
    assert {c.doc_id for c in reader.chunks} == {"card", "cd"}
    old = search(reader, embedder, "大额存单", Role.teller, 5, TODAY)
    assert old[0].chunk.doc_id == "cd"
    # ...and the next snapshot is the new one, in full.
    assert {c.doc_id for c in index.snapshot().chunks} == {"card", "cd", "extra"}


def test_the_real_knowledge_base_indexes_every_document(
    index_at: IndexAt, embedder: Embedder
) -> None:
    from tests.conftest import KNOWLEDGE

    index = index_at(embedder)
    documents = load_documents([KNOWLEDGE], DEFAULTS).documents
    report = index.ingest(documents)
    assert set(index.snapshot().documents) == {d.meta.id for d in documents}
    assert report.chunks_total == len(index.snapshot().chunks)


def test_repeated_ingests_do_not_keep_every_old_generation_open(
    tmp_path: Path, folder: Path, embedder: Embedder
) -> None:
    from chromadb.api.shared_system_client import SharedSystemClient

    index = KnowledgeIndex(tmp_path / "idx", embedder)
    opened_before = len(SharedSystemClient._identifier_to_system)
    for round_ in range(5):
        write(folder / "cd.md", front_matter("cd", f"# 大额存单\n\n第{round_}版说明。"))
        ingest_paths(index, [folder], DEFAULTS)
        index.snapshot()
    # The current and the previous generation, whatever the number of ingests.
    assert len(SharedSystemClient._identifier_to_system) - opened_before <= 2
    assert len(list((tmp_path / "idx" / "generations").iterdir())) == 2


def test_switching_the_embedding_model_demands_and_performs_a_rebuild(
    tmp_path: Path, folder: Path, embedder: Embedder
) -> None:
    from assistant.search.embeddings import load_embedder
    from assistant.search.index import IndexMismatch

    ingest_paths(KnowledgeIndex(tmp_path / "idx", embedder), [folder], DEFAULTS)
    other = KnowledgeIndex(tmp_path / "idx", load_embedder("minilm", 2))
    with pytest.raises(IndexMismatch, match="assistant ingest --prune"):
        other.snapshot()
    (folder / "card.md").unlink()  # the source is gone: its stored passages are rebuilt
    _, report = ingest_paths(other, [folder], DEFAULTS)
    assert report.rebuilt and report.chunks_embedded == report.chunks_total == 2
    assert other.snapshot().manifest["embedder"] == "minilm"
    assert {c.doc_id for c in other.snapshot().chunks} == {"card", "cd"}


def test_an_index_from_an_older_tokenizer_is_retokenized(
    tmp_path: Path, folder: Path, embedder: Embedder
) -> None:
    import json

    from assistant.text import tokenize

    index = KnowledgeIndex(tmp_path / "idx", embedder)
    ingest_paths(index, [folder], DEFAULTS)
    manifest = index.snapshot().ref.folder / "manifest.json"
    manifest.write_text(json.dumps({"embedder": embedder.name, "tokenizer": 1}))
    stale = KnowledgeIndex(tmp_path / "idx", embedder)
    _, report = ingest_paths(stale, [folder], DEFAULTS)
    assert report.rebuilt and report.chunks_embedded == report.chunks_total == 2
    rebuilt = stale.snapshot()
    assert json.loads((rebuilt.ref.folder / "manifest.json").read_text())["tokenizer"] > 1
    for chunk in rebuilt.chunks:
        assert chunk.tokens == tuple(tokenize(f"{chunk.title} {chunk.section} {chunk.text}"))


def test_a_second_host_needs_only_the_two_urls_and_old_generations_leave_both_servers(
    tmp_path: Path, folder: Path, embedder: Embedder, postgres_url: str, chroma_url: str
) -> None:
    import chromadb

    def on_host(name: str) -> KnowledgeIndex:
        # Each "host" has a data folder of its own; they share only the two servers.
        directory = tmp_path / name / "shared-idx"
        catalog = DatabaseCatalog(postgres_url, "shared-idx", directory)
        return KnowledgeIndex(
            directory, embedder, ChromaServer(embedder, chroma_url), catalog=catalog
        )

    writer, reader = on_host("host-1"), on_host("host-2")
    generations = []
    for round_ in range(3):
        write(
            folder / "cd.md",
            front_matter("cd", f"# 大额存单\n\n## 起存金额\n起存金额为{20 + round_}万元。"),
        )
        generations.append(ingest_paths(writer, [folder], DEFAULTS)[1].generation)
        texts = {c.text for c in reader.snapshot().chunks}
        assert f"起存金额为{20 + round_}万元。" in texts
        assert ids_for(reader, embedder, "大额存单起存金额")[0] == "cd"
    assert not (tmp_path / "host-2").exists()  # nothing of the index on the reader's disk
    assert reader.catalog.generations() == sorted(generations[1:])
    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma_url.rsplit(":", 1)[1]))
    names = {c.name for c in client.list_collections() if c.name.startswith("shared-idx-")}
    assert names == {f"shared-idx-{g}" for g in generations[1:]}


def test_two_ingests_on_different_hosts_take_turns(postgres_url: str, tmp_path: Path) -> None:
    import threading

    first = DatabaseCatalog(postgres_url, "locked-idx", tmp_path / "a")
    second = DatabaseCatalog(postgres_url, "locked-idx", tmp_path / "b")
    order: list[str] = []

    def second_ingest() -> None:
        with second.lock():
            order.append("second")

    with first.lock():
        waiting = threading.Thread(target=second_ingest)
        waiting.start()
        waiting.join(timeout=1.0)  # still waiting for the first to let go
        order.append("first done")
    waiting.join(timeout=10)
    assert order == ["first done", "second"]


def test_a_lost_chroma_server_fails_closed_and_is_served_again_once_back(
    tmp_path: Path, folder: Path, settings: Settings
) -> None:
    from fastapi.testclient import TestClient

    from assistant.channels.api import create_app
    from assistant.service import build_assistant, open_index
    from tests.servers import chroma_server, free_port

    data, port = tmp_path / "chroma", free_port()
    settings = settings.model_copy(
        update={"data_dir": tmp_path / "host", "chroma_url": f"http://127.0.0.1:{port}"}
    )
    question = {"message": "大额存单起存金额是多少？", "role": "teller"}
    write(folder / "cd.md", front_matter("cd", "# 大额存单\n\n个人大额存单起存金额为20万元。"))
    with chroma_server(data, port):
        ingest_paths(open_index(settings), [folder], DEFAULTS)
        client = TestClient(create_app(settings, build_assistant(settings)))
        assert client.post("/v1/chat", json=question).status_code == 200
    # The server is gone: no answer from half an index, and the load balancer is told.
    lost = client.post("/v1/chat", json=question)
    assert lost.status_code == 503 and "vector store" in lost.json()["error"]["message"]
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["problems"][0].startswith("index")
    assert client.get("/healthz").status_code == 200  # alive, only not ready
    with chroma_server(data, port):
        back = client.post("/v1/chat", json=question)
        assert back.status_code == 200 and "20万元" in back.json()["answer"]
        assert client.get("/readyz").status_code == 200
