"""The index: incremental by content hash, atomic switches, bad files never cost data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from assistant.ingest.documents import PlainFileDefaults, load_documents
from assistant.roles import Audience, Role
from assistant.search.embeddings import Embedder
from assistant.search.index import IndexNotBuilt, KnowledgeIndex
from assistant.search.retrieval import search
from assistant.service import ingest_paths
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


def ids_for(index: KnowledgeIndex, embedder: Embedder, query: str) -> list[str]:
    return [
        p.chunk.doc_id for p in search(index.snapshot(), embedder, query, Role.teller, 5, TODAY)
    ]


def test_an_empty_index_says_how_to_fill_it(tmp_path: Path, embedder: Embedder) -> None:
    with pytest.raises(IndexNotBuilt, match="assistant ingest"):
        KnowledgeIndex(tmp_path / "idx", embedder).snapshot()


def test_reingesting_unchanged_documents_embeds_nothing(
    tmp_path: Path, folder: Path, embedder: Embedder
) -> None:
    index = KnowledgeIndex(tmp_path / "idx", embedder)
    _, first = ingest_paths(index, [folder], DEFAULTS)
    assert sorted(first.added) == ["card", "cd"] and first.chunks_embedded == 2
    _, second = ingest_paths(index, [folder], DEFAULTS)
    assert sorted(second.unchanged) == ["card", "cd"]
    assert second.chunks_embedded == 0 and second.generation == first.generation


def test_changing_one_document_reembeds_only_that_document(
    tmp_path: Path, folder: Path, embedder: Embedder
) -> None:
    index = KnowledgeIndex(tmp_path / "idx", embedder)
    ingest_paths(index, [folder], DEFAULTS)
    write(folder / "cd.md", front_matter("cd", "# 大额存单\n\n## 起存金额\n起存金额调整为30万元。"))
    _, report = ingest_paths(index, [folder], DEFAULTS)
    assert report.updated == ["cd"] and report.unchanged == ["card"]
    assert report.chunks_embedded == 1 and report.chunks_total == 2
    texts = {c.doc_id: c.text for c in index.snapshot().chunks}
    assert texts["cd"] == "起存金额调整为30万元。"
    # The reused embedding still finds its passage.
    assert ids_for(index, embedder, "丢卡 挂失 95388")[0] == "card"


def test_a_malformed_file_is_skipped_and_its_indexed_version_kept(
    tmp_path: Path, folder: Path, embedder: Embedder
) -> None:
    index = KnowledgeIndex(tmp_path / "idx", embedder)
    ingest_paths(index, [folder], DEFAULTS)
    write(folder / "card.md", "---\nid: card\ntitle: [broken\n---\n新内容。")
    write(folder / "new.md", front_matter("new", "# 新文档\n\n营业时间为9:00至17:00。"))
    loaded, report = ingest_paths(index, [folder], DEFAULTS, prune=True)
    assert [Path(e.source).name for e in loaded.errors] == ["card.md"]
    assert report.added == ["new"] and report.removed == []
    assert {c.doc_id for c in index.snapshot().chunks} == {"card", "cd", "new"}
    assert "丢卡请拨打95388挂失。" in {c.text for c in index.snapshot().chunks}


def test_prune_removes_documents_that_are_gone(
    tmp_path: Path, folder: Path, embedder: Embedder
) -> None:
    index = KnowledgeIndex(tmp_path / "idx", embedder)
    ingest_paths(index, [folder], DEFAULTS)
    (folder / "card.md").unlink()
    _, kept = ingest_paths(index, [folder], DEFAULTS)
    assert kept.removed == [] and "card" in index.snapshot().documents
    _, pruned = ingest_paths(index, [folder], DEFAULTS, prune=True)
    assert pruned.removed == ["card"]
    assert ids_for(index, embedder, "丢卡 挂失") == ["cd"]


def test_a_failed_ingest_leaves_the_served_index_as_it_was(
    tmp_path: Path, folder: Path, embedder: Embedder
) -> None:
    good = KnowledgeIndex(tmp_path / "idx", embedder)
    ingest_paths(good, [folder], DEFAULTS)
    before = good.current_generation()
    write(folder / "cd.md", front_matter("cd", "# 大额存单\n\n起存金额调整为30万元。"))
    broken = KnowledgeIndex(tmp_path / "idx", BrokenEmbedder(embedder))
    with pytest.raises(RuntimeError, match="embedding worker died"):
        ingest_paths(broken, [folder], DEFAULTS)
    assert good.current_generation() == before
    assert "起存金额为20万元。" in {c.text for c in good.snapshot().chunks}
    assert ids_for(good, embedder, "大额存单起存金额")[0] == "cd"


def test_a_reader_keeps_its_snapshot_while_a_new_generation_is_switched_in(
    tmp_path: Path, folder: Path, embedder: Embedder
) -> None:
    index = KnowledgeIndex(tmp_path / "idx", embedder)
    ingest_paths(index, [folder], DEFAULTS)
    reader = index.snapshot()
    writer = KnowledgeIndex(tmp_path / "idx", embedder)
    write(folder / "extra.md", front_matter("extra", "# 外汇\n\n外币兑换请到网点办理。"))
    ingest_paths(writer, [folder], DEFAULTS)
    # The old snapshot still answers completely from the old generation...
    assert {c.doc_id for c in reader.chunks} == {"card", "cd"}
    old = search(reader, embedder, "大额存单", Role.teller, 5, TODAY)
    assert old[0].chunk.doc_id == "cd"
    # ...and the next snapshot is the new one, in full.
    assert {c.doc_id for c in index.snapshot().chunks} == {"card", "cd", "extra"}


def test_the_real_knowledge_base_indexes_every_document(tmp_path: Path, embedder: Embedder) -> None:
    from tests.conftest import KNOWLEDGE

    index = KnowledgeIndex(tmp_path / "idx", embedder)
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
    manifest = index.snapshot().directory / "manifest.json"
    manifest.write_text(json.dumps({"embedder": embedder.name, "tokenizer": 1}))
    stale = KnowledgeIndex(tmp_path / "idx", embedder)
    _, report = ingest_paths(stale, [folder], DEFAULTS)
    assert report.rebuilt and report.chunks_embedded == report.chunks_total == 2
    rebuilt = stale.snapshot()
    assert json.loads((rebuilt.directory / "manifest.json").read_text())["tokenizer"] > 1
    for chunk in rebuilt.chunks:
        assert chunk.tokens == tuple(tokenize(f"{chunk.title} {chunk.section} {chunk.text}"))
