"""One conversational turn, as data flowing through the house (see DESIGN.md).

    request -> guard input -> retrieve -> generate -> guard output -> response

Nothing reaches retrieval, a model or the log before the input guard has masked personal
data; nothing reaches the user before the output guard has passed it.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from langchain_core.runnables import Runnable

from assistant.conversation import contextualize
from assistant.embeddings import Embedder
from assistant.generation import Citation, Draft, GenerationInput
from assistant.glossary import Glossary
from assistant.guard import (
    Finding,
    InputGuard,
    KnowledgeView,
    OutputGuard,
    OutputRule,
    SourceDocument,
    most_severe,
    says_nothing,
    segments,
)
from assistant.index import KnowledgeIndex, Snapshot
from assistant.retrieval import Passage, search
from assistant.roles import Role
from assistant.settings import Settings
from assistant.text import Language, detect_language

log = logging.getLogger(__name__)


class InvalidRequest(ValueError):
    """The request cannot be answered as sent; the message says what to change."""


@dataclass(frozen=True)
class TurnRequest:
    message: str
    role: Role = Role.customer
    session_id: str | None = None
    # The session's earlier questions (masked), oldest first, to read a follow-up against.
    history: tuple[str, ...] = ()


@dataclass
class TurnResult:
    session_id: str
    turn_id: str
    answer: str
    citations: list[Citation]
    language: Language
    grounded: bool
    passages: list[Passage]
    action: str = "allow"
    findings: list[Finding] = field(default_factory=list)
    elapsed_ms: float = 0.0
    # The question as it may be stored: personal data masked.
    question: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "answer": self.answer,
            "citations": [c.as_dict() for c in self.citations],
            "session_id": self.session_id,
            "turn_id": self.turn_id,
            "language": self.language,
            "grounded": self.grounded,
            "action": self.action,
            "verdicts": [f.as_dict() for f in self.findings],
            "elapsed_ms": round(self.elapsed_ms, 1),
            "question": self.question,
        }


def source_documents(snapshot: Snapshot, citations: list[Citation]) -> list[SourceDocument]:
    """What a reply cites, as the output guard sees it: the cited passages with their
    document's audience, category and risk level."""
    sources = []
    for citation in citations:
        record = snapshot.documents.get(citation.doc_id)
        meta = record.meta if record else {}
        sources.append(
            SourceDocument(
                doc_id=citation.doc_id,
                text=f"{citation.title}\n{citation.passage}",
                audience=str(meta.get("audience", "public")),
                category=meta.get("category"),
                risk_level=meta.get("risk_level"),
            )
        )
    return sources


def knowledge_view(snapshot: Snapshot, rule: OutputRule) -> KnowledgeView:
    texts: dict[str, list[str]] = {}
    for chunk in snapshot.chunks:
        texts.setdefault(chunk.doc_id, []).append(chunk.text)
    return KnowledgeView(
        [
            SourceDocument(doc_id, "\n".join(parts), snapshot.documents[doc_id].meta["audience"])
            for doc_id, parts in texts.items()
        ],
        rule.shingle or 12,
        rule.topics,
    )


@dataclass
class _Prepared:
    result: TurnResult
    draft: Draft
    sources: list[SourceDocument]

    def conclude(self, text: str, findings: list[Finding], action: str) -> TurnResult:
        cited = set(map(int, re.findall(r"\[(\d+)\]", text)))
        self.result.answer = text
        self.result.citations = [c for c in self.draft.citations if c.n in cited]
        self.result.grounded = self.draft.grounded and action != "block"
        self.result.findings = self.result.findings + findings
        self.result.action = most_severe([self.result.action, action])
        return self.result


class Assistant:
    def __init__(
        self,
        settings: Settings,
        index: KnowledgeIndex,
        embedder: Embedder,
        generator_for: Callable[[KnowledgeIndex], Runnable[GenerationInput, Draft]],
        input_guard: InputGuard,
        output_guard: OutputGuard,
        glossary: Glossary | None = None,
    ) -> None:
        self.settings = settings
        self.glossary = glossary or Glossary()
        self.index = index
        self.embedder = embedder
        self._generator_for = generator_for
        self.input_guard = input_guard
        self.output_guard = output_guard
        self._views: dict[str, KnowledgeView] = {}

    def validate(self, request: TurnRequest) -> str:
        message = request.message.strip()
        if not message:
            raise InvalidRequest("the message is empty; type a question")
        if len(message) > self.settings.max_message_chars:
            raise InvalidRequest(
                f"the message is {len(message)} characters; the limit is "
                f"{self.settings.max_message_chars}. Shorten it or split it into questions."
            )
        return message

    def search(self, query: str, role: Role, k: int | None = None) -> list[Passage]:
        """The passages the role may read that best answer the query, typing slips corrected."""
        return self._search(self.index.snapshot().speller.correct(query), role, k)

    def _search(self, query: str, role: Role, k: int | None = None) -> list[Passage]:
        return search(
            self.index.snapshot(),
            self.embedder,
            query,
            role,
            k or self.settings.top_k,
            self.settings.today(),
            pool=self.settings.candidate_pool,
            rrf_k=self.settings.rrf_k,
            glossary=self.glossary,
        )

    def view(self) -> KnowledgeView:
        """The staff/public split of the index being served, built once per generation."""
        snapshot = self.index.snapshot()
        if snapshot.generation not in self._views:
            rule = self.output_guard.policy.rule("staff_content")
            self._views = {snapshot.generation: knowledge_view(snapshot, rule)}
        return self._views[snapshot.generation]

    def answer(self, request: TurnRequest) -> TurnResult:
        """One whole turn; the reply is what streaming would have released."""
        started = time.perf_counter()
        prepared = self._prepare(request)
        if isinstance(prepared, TurnResult):
            return self._finish(prepared, request, started)
        checked = self.output_guard.inspect(
            prepared.draft.text,
            prepared.sources,
            str(request.role),
            prepared.result.language,
            self.view(),
        )
        return self._finish(
            prepared.conclude(checked.text, checked.findings, checked.action), request, started
        )

    def stream(self, request: TurnRequest) -> Iterator[str | TurnResult]:
        """The same turn, released segment by segment, each only after the output rails
        passed it; the last item is the whole TurnResult."""
        started = time.perf_counter()
        prepared = self._prepare(request)
        if isinstance(prepared, TurnResult):
            yield prepared.answer
            yield self._finish(prepared, request, started)
            return
        findings: list[Finding] = []
        released: list[str] = []
        for segment in self.output_guard.review_stream(
            segments(prepared.draft.text),
            prepared.sources,
            str(request.role),
            prepared.result.language,
            self.view(),
            findings,
        ):
            released.append(segment)
            yield segment
        text = "".join(released)
        action = most_severe(f.action for f in findings)
        if findings and says_nothing(text):
            text = self.output_guard.safe_answer(prepared.result.language)
            action = "block"
            yield text
        yield self._finish(prepared.conclude(text, findings, action), request, started)

    def _prepare(self, request: TurnRequest) -> TurnResult | _Prepared:
        """Everything before the output rails: a finished result when the input guard
        stopped the turn, else the draft with what it cites."""
        message = self.validate(request)
        session_id = request.session_id or uuid.uuid4().hex
        turn_id = uuid.uuid4().hex
        language = detect_language(message)
        screened = self.input_guard.inspect(message, language)
        result = TurnResult(
            session_id,
            turn_id,
            "",
            [],
            language,
            False,
            [],
            screened.action,
            screened.findings,
            question=screened.text,
        )
        if screened.action in ("block", "handoff"):
            result.answer = screened.findings[-1].reason
            return result
        question = contextualize(
            request.history, self.input_guard.without_masks(screened.text), language
        )
        question = self.index.snapshot().speller.correct(question)
        result.passages = self._search(question, request.role)
        draft = self._generator_for(self.index).invoke(
            GenerationInput(question=question, language=language, passages=result.passages)
        )
        sources = source_documents(self.index.snapshot(), draft.citations)
        return _Prepared(result, draft, sources)

    def _finish(self, result: TurnResult, request: TurnRequest, started: float) -> TurnResult:
        result.elapsed_ms = (time.perf_counter() - started) * 1000
        log.info(
            "turn %s session=%s role=%s lang=%s action=%s rules=%s citations=%s %.0fms",
            result.turn_id,
            result.session_id,
            request.role,
            result.language,
            result.action,
            [f.rule for f in result.findings],
            [c.doc_id for c in result.citations],
            result.elapsed_ms,
        )
        return result
