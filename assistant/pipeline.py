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
from collections.abc import Callable
from dataclasses import dataclass, field

from langchain_core.runnables import Runnable

from assistant.embeddings import Embedder
from assistant.generation import Citation, Draft, GenerationInput
from assistant.guard import (
    Finding,
    InputGuard,
    KnowledgeView,
    OutputGuard,
    OutputRule,
    SourceDocument,
    most_severe,
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


class Assistant:
    def __init__(
        self,
        settings: Settings,
        index: KnowledgeIndex,
        embedder: Embedder,
        generator_for: Callable[[KnowledgeIndex], Runnable[GenerationInput, Draft]],
        input_guard: InputGuard,
        output_guard: OutputGuard,
    ) -> None:
        self.settings = settings
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
        return search(
            self.index.snapshot(),
            self.embedder,
            query,
            role,
            k or self.settings.top_k,
            self.settings.today(),
            pool=self.settings.candidate_pool,
            rrf_k=self.settings.rrf_k,
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
        message = self.validate(request)
        session_id = request.session_id or uuid.uuid4().hex
        turn_id = uuid.uuid4().hex
        language = detect_language(message)
        screened = self.input_guard.inspect(message, language)
        if screened.action in ("block", "handoff"):
            result = TurnResult(
                session_id,
                turn_id,
                screened.findings[-1].reason,
                [],
                language,
                False,
                [],
                screened.action,
                screened.findings,
            )
            return self._finish(result, request, started)
        question = self.input_guard.without_masks(screened.text)
        passages = self.search(question, request.role)
        draft = self._generator_for(self.index).invoke(
            GenerationInput(question=question, language=language, passages=passages)
        )
        checked = self.output_guard.inspect(
            draft.text,
            source_documents(self.index.snapshot(), draft.citations),
            str(request.role),
            language,
            self.view(),
        )
        findings = screened.findings + checked.findings
        cited = set(map(int, re.findall(r"\[(\d+)\]", checked.text)))
        citations = [c for c in draft.citations if c.n in cited]
        grounded = draft.grounded and checked.action != "block"
        action = most_severe([screened.action, checked.action])
        result = TurnResult(
            session_id,
            turn_id,
            checked.text,
            citations,
            language,
            grounded,
            passages,
            action,
            findings,
        )
        return self._finish(result, request, started)

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
