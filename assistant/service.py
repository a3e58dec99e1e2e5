"""Wiring: build the assistant and its index from the settings. The faces (CLI, HTTP,
console) all start here, so they answer the same question the same way."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from langchain_core.runnables import Runnable

from assistant.documents import LoadReport, PlainFileDefaults, load_documents
from assistant.embeddings import load_embedder
from assistant.generation import ComposerWording, Draft, GenerationInput, extractive_generator
from assistant.glossary import Glossary
from assistant.guard import InputGuard, OutputGuard, load_policy
from assistant.index import IngestReport, KnowledgeIndex
from assistant.pipeline import Assistant
from assistant.settings import Settings

log = logging.getLogger(__name__)


def open_index(settings: Settings, index_name: str | None = None) -> KnowledgeIndex:
    return KnowledgeIndex(
        settings.index_dir(index_name),
        load_embedder(settings.embedding_model, settings.embedding_threads),
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
    )


GeneratorFactory = Callable[[KnowledgeIndex], Runnable[GenerationInput, Draft]]


def default_generator(settings: Settings, glossary: Glossary) -> GeneratorFactory:
    wording = ComposerWording.load(settings.prompts_dir)

    def for_index(index: KnowledgeIndex) -> Runnable[GenerationInput, Draft]:
        def similarity(question: str, texts: Sequence[str]) -> Sequence[float]:
            return index.embedder.embed_passages(texts) @ index.embedder.embed_query(question)

        return extractive_generator(
            wording,
            index.snapshot().bm25.idf,
            similarity,
            settings.min_answer_support,
            settings.key_term_rarity,
            glossary.terms_of,
        )

    return for_index


def build_assistant(settings: Settings, index_name: str | None = None) -> Assistant:
    index = open_index(settings, index_name)
    input_policy, output_policy = load_policy(settings.guardrails_dir)
    glossary = Glossary.load(settings.knowledge_dir / "glossary.yaml")
    return Assistant(
        settings,
        index,
        index.embedder,
        default_generator(settings, glossary),
        InputGuard(input_policy),
        OutputGuard(output_policy),
        glossary,
    )


def ingest_paths(
    index: KnowledgeIndex,
    paths: Sequence[Path],
    defaults: PlainFileDefaults,
    prune: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[LoadReport, IngestReport]:
    """Load what can be loaded, report what cannot, and index the rest in one atomic switch."""
    loaded = load_documents(paths, defaults)
    for error in loaded.errors:
        log.warning("skipped %s: %s", error.source, error.reason)
    failed = frozenset(error.source for error in loaded.errors)
    report = index.ingest(loaded.documents, prune=prune, keep_sources=failed, progress=progress)
    return loaded, report
