"""The generator seam: passages in, a cited draft out, whole or as a stream of text pieces
for the output rails to check. Generators register by name and are chosen by
ASSISTANT_GENERATOR; a plugin module listed in ASSISTANT_PLUGINS registers its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from assistant.registry import Registry
from assistant.search.catalog import IndexedChunk
from assistant.search.embeddings import Embedder
from assistant.search.glossary import Glossary
from assistant.search.retrieval import Passage
from assistant.settings import Settings
from assistant.text import Language

# How informative a word is in the corpus (its IDF); rarer words weigh more.
TermWeight = Callable[[str], float]


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    title: str
    section: str
    passage: str
    chunk_id: str
    effective_from: str | None
    effective_to: str | None
    # Who may read the passage: a channel marks an answer resting on staff documents as
    # internal, not to be passed to a customer.
    audience: str = "public"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def uniform_weight(_: str) -> float:
    return 1.0


@dataclass(frozen=True)
class GenerationInput:
    question: str
    language: Language
    passages: Sequence[Passage]
    # How informative a word is in the index generation the passages come from (its IDF).
    term_weight: TermWeight = uniform_weight


@dataclass(frozen=True)
class Draft:
    text: str
    citations: list[Citation] = field(default_factory=list)
    grounded: bool = True
    support: float = 0.0
    # Quoted from the passages (or the bank's own wording) word for word. Anything else, by
    # default, has each sentence traced to the passages it cites before release.
    quoted: bool = False
    author: str | None = None
    notes: list[str] = field(default_factory=list)
    # Why a writer declined (a code from DECLINE_REASONS); None when it answered.
    decline_reason: str | None = None


@dataclass
class DraftStream:
    """A draft being written: what it may cite is known before its first piece, so the
    output rails can check each sentence as it arrives. A writer that learns only while
    writing that it cannot answer sets `grounded` to False by the time `pieces` ends."""

    citations: list[Citation]
    grounded: bool
    pieces: Iterator[str]
    quoted: bool = False
    # Who wrote it, when not the generator asked (a fall-back), and why.
    author: str | None = None
    notes: list[str] = field(default_factory=list)
    decline_reason: str | None = None


# Why a turn was declined, recorded with it: the passages say nothing that answers it; they
# do not name what it asks about; they do not offer the term or option asked for; they speak
# of the other side of a boundary (境内 for 境外); the named product's own documents are
# silent; or a rule of the bank's policy refused it.
DECLINE_REASONS = (
    "no_evidence",
    "subject_absent",
    "term_not_offered",
    "other_side_of_boundary",
    "subject_silent",
    "policy",
)


class Generator(Protocol):
    """Writes the answer to a question from the passages it is given, citing them as [n]
    (n: the citation's number), or declines with grounded=False and no citations."""

    name: str

    def generate(self, request: GenerationInput) -> Draft: ...

    def stream(self, request: GenerationInput) -> DraftStream: ...


@runtime_checkable
class Preparer(Protocol):
    """A generator that embeds texts of its passages whatever the question: an ingest
    embeds them ahead of the turns (assistant/search/prepared.py)."""

    def prepared_texts(self, chunk: IndexedChunk) -> list[str]: ...


@runtime_checkable
class Rewriter(Protocol):
    """A generator that can also restate a follow-up as a question that stands on its own."""

    def rewrite(self, history: Sequence[str], question: str) -> str | None: ...


@runtime_checkable
class Checked(Protocol):
    """A generator that depends on something that can be down (a model server)."""

    def problem(self) -> str | None: ...


@dataclass(frozen=True)
class GeneratorContext:
    """What a generator may be built from, once per process."""

    prompts_dir: Path
    embedder: Embedder
    glossary: Glossary
    min_answer_support: float
    key_term_rarity: float
    answer_max_sentences: int
    answer_max_chars: int
    settings: Settings


generators: Registry[Callable[[GeneratorContext], Generator]] = Registry(
    "generator",
    "ASSISTANT_GENERATOR",
    builtins=("assistant.answer.composer",),
)

# A language model behind an OpenAI-compatible server: langchain-openai alone takes a second
# to import, which every command paid before it was deferred.
generators.register_deferred("llm", "assistant.answer.llm:language_model")


def streamed(draft: Draft, pieces: Callable[[str], list[str]]) -> DraftStream:
    """A whole draft, released piece by piece: for generators that write all at once."""
    return DraftStream(
        draft.citations,
        draft.grounded,
        iter(pieces(draft.text)),
        draft.quoted,
        draft.author,
        list(draft.notes),
        draft.decline_reason,
    )


def citation_of(n: int, chunk: IndexedChunk) -> Citation:
    return Citation(
        n,
        chunk.doc_id,
        chunk.title,
        chunk.section,
        chunk.text,
        chunk.chunk_id,
        chunk.effective_from,
        chunk.effective_to,
        chunk.audience,
    )
