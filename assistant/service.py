"""Wiring: build the assistant and its index from the settings. The faces (CLI, HTTP,
console) all start here, so they answer the same question the same way. Each seam's
implementation is chosen by name from its registry; plugins register theirs first."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from assistant.advice.advisor import Advisor
from assistant.advice.rules import SuitabilityWording
from assistant.answer.conversation import FollowUps
from assistant.answer.generator import GeneratorContext, generators
from assistant.answer.wording import ComposerWording
from assistant.errors import ConfigurationError, DocumentError
from assistant.guard import load_guards
from assistant.ingest.documents import Document, LoadReport, PlainFileDefaults, load_documents
from assistant.pipeline import Assistant
from assistant.registry import load_plugins
from assistant.roles import Audience
from assistant.search.catalog import DatabaseCatalog, DocumentRecord, FileCatalog
from assistant.search.embeddings import Embedder, load_embedder
from assistant.search.glossary import Glossary
from assistant.search.index import IngestReport, KnowledgeIndex
from assistant.search.prepared import PreparedEmbedder, PreparedVectors
from assistant.search.subjects import TitleRules
from assistant.search.vectorstore import VectorStoreFactory, vector_stores
from assistant.settings import Settings

log = logging.getLogger(__name__)


def embedder_for(settings: Settings) -> Embedder:
    """The embedding model the settings name, with their threads and memory of recent texts."""
    return load_embedder(
        settings.embedding_model, settings.embedding_threads, settings.embedding_cache
    )


def open_index(settings: Settings, index_name: str | None = None) -> KnowledgeIndex:
    load_plugins(settings.plugins)
    model = embedder_for(settings)
    prepared = PreparedVectors(settings.prepared_vectors(index_name), model.name, model.dimension)
    embedder = PreparedEmbedder(model, prepared)
    directory = settings.index_dir(index_name)
    if settings.shared_index():
        if settings.chroma_url is None and not settings.database().startswith("sqlite"):
            raise ConfigurationError(
                "ASSISTANT_INDEX_CATALOG=database shares the index's pointer between hosts, "
                "but its vectors would stay on this host's disk: set ASSISTANT_CHROMA_URL too"
            )
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # where SQLite is by default
    return KnowledgeIndex(
        directory,
        embedder,
        _vector_store(settings, embedder),
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        catalog=(
            DatabaseCatalog(settings.database(), directory.name, directory)
            if settings.shared_index()
            else FileCatalog(directory)
        ),
    )


def _vector_store(settings: Settings, embedder: Embedder) -> VectorStoreFactory:
    if settings.chroma_url is None:
        return vector_stores.factory(settings.vector_store or "exact")(embedder)
    if settings.vector_store not in (None, "chroma"):
        raise ConfigurationError(
            f"ASSISTANT_CHROMA_URL names a Chroma server but ASSISTANT_VECTOR_STORE is "
            f"{settings.vector_store!r}: unset one of them"
        )
    from assistant.search.chroma import ChromaServer  # chromadb is imported only when used

    return ChromaServer(embedder, settings.chroma_url)


def build_assistant(settings: Settings, index_name: str | None = None) -> Assistant:
    index = open_index(settings, index_name)
    input_guard, output_guard = load_guards(settings.guardrails_dir, index.embedder)
    glossary = Glossary.load(settings.knowledge_dir / "glossary.yaml")
    title_rules = TitleRules.load(settings.knowledge_dir / "glossary.yaml")
    wording = ComposerWording.load(settings.prompts_dir)
    context = GeneratorContext(
        settings.prompts_dir,
        index.embedder,
        glossary,
        settings.min_answer_support,
        settings.key_term_rarity,
        settings.answer_max_sentences,
        settings.answer_max_chars,
        settings,
    )
    provenance = {
        "prompt_hash": content_hash(settings.prompts_dir),
        "policy_hash": content_hash(settings.guardrails_dir),
    }
    return Assistant(
        settings,
        index,
        generators.factory(settings.generator)(context),
        input_guard,
        output_guard,
        Advisor(
            output_guard,
            SuitabilityWording.load(settings.prompts_dir),
            wording,
            settings.max_suggestions,
        ),
        wording,
        FollowUps.load(settings.prompts_dir),
        glossary,
        provenance=provenance,
        title_rules=title_rules,
    )


def prepare_vectors(settings: Settings, assistant: Assistant) -> int:
    """Embed, ahead of the turns, what every turn would embed of the current generation's
    passages; returns how many texts were new. Run after an ingest has switched."""
    index = assistant.index
    if index.current_generation() is None:
        return 0
    model = embedder_for(settings)
    prepared = PreparedVectors(settings.prepared_vectors(index.name), model.name, model.dimension)
    try:
        with index.catalog.lock():
            texts = assistant.texts_to_prepare(index.snapshot())
            embedded = prepared.fill(texts, model.embed_passages)
    except (OSError, sqlite3.Error) as error:
        # The ingest has switched already; without these vectors turns embed as before.
        log.warning("vectors for index %s not prepared (%s): turns embed them", index.name, error)
        return 0
    log.info("prepared %d vectors for index %s (%d new)", len(set(texts)), index.name, embedded)
    return embedded


def content_hash(folder: Path) -> str:
    """One hash over every file of a content folder (prompts, the policy): the audit trail
    says which wording and which rules a turn was answered under."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def ingest_summary(loaded: LoadReport, report: IngestReport) -> dict[str, Any]:
    """What an ingest did, as the CLI's --json and the admin API report it."""
    return {
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "removed": report.removed,
        "skipped": [{"source": e.source, "reason": e.reason} for e in loaded.errors],
        "chunks_embedded": report.chunks_embedded,
        "chunks_total": report.chunks_total,
        "rebuilt": report.rebuilt,
        "generation": report.generation,
    }


def unpublished_staff(
    documents: Sequence[Document], indexed: Mapping[str, DocumentRecord]
) -> list[DocumentError]:
    """Staff documents that a new version would make public without saying so: a file saved
    without its front matter, say, ingested with a public default. Each is refused and its
    indexed version kept; only front matter that states `audience: public` publishes it."""
    return [
        DocumentError(
            doc.source,
            f"{doc.meta.id} is indexed as a staff document and this version does not state "
            "its audience; add `audience: public` to its front matter to publish it",
        )
        for doc in documents
        if doc.meta.audience is not Audience.staff
        and not doc.states_audience
        and doc.meta.id in indexed
        and indexed[doc.meta.id].meta.get("audience") == Audience.staff
    ]


def ingest_paths(
    index: KnowledgeIndex,
    paths: Sequence[Path],
    defaults: PlainFileDefaults,
    prune: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[LoadReport, IngestReport]:
    """Load what can be loaded, report what cannot, and index the rest in one atomic switch."""
    loaded = load_documents(paths, defaults)
    refused = unpublished_staff(loaded.documents, index.indexed_documents())
    loaded.errors += refused
    loaded.documents = [d for d in loaded.documents if d.source not in {e.source for e in refused}]
    for error in loaded.errors:
        log.warning("skipped %s: %s", error.source, error.reason)
    failed = frozenset(error.source for error in loaded.errors)
    report = index.ingest(loaded.documents, prune=prune, keep_sources=failed, progress=progress)
    return loaded, report
