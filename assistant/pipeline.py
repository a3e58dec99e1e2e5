"""One conversational turn, as data flowing through the house (see DESIGN.md).

    request -> input rails -> retrieve -> generate -> output rails -> response

The rails are ordered lists of checks. This foundation wires the steps and records their
verdicts; the compliance guardrail fills the lists.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from langchain_core.runnables import Runnable

from assistant.embeddings import Embedder
from assistant.generation import Citation, Draft, GenerationInput
from assistant.index import KnowledgeIndex
from assistant.retrieval import Passage, search
from assistant.roles import Role
from assistant.settings import Settings
from assistant.text import Language, detect_language

log = logging.getLogger(__name__)


class InvalidRequest(ValueError):
    """The request cannot be answered as sent; the message says what to change."""


@dataclass(frozen=True)
class Verdict:
    rule: str
    action: Literal["allow", "mask", "rewrite", "block", "handoff"]
    reason: str
    text: str | None = None


@dataclass(frozen=True)
class TurnContext:
    role: Role
    language: Language
    passages: Sequence[Passage] = ()


class InputRail(Protocol):
    def __call__(self, message: str, context: TurnContext) -> Verdict: ...


class OutputRail(Protocol):
    def __call__(self, draft: Draft, context: TurnContext) -> Verdict: ...


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
    verdicts: list[Verdict] = field(default_factory=list)
    elapsed_ms: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "answer": self.answer,
            "citations": [c.as_dict() for c in self.citations],
            "session_id": self.session_id,
            "turn_id": self.turn_id,
            "language": self.language,
            "grounded": self.grounded,
            "verdicts": [v.__dict__ for v in self.verdicts],
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


class Assistant:
    def __init__(
        self,
        settings: Settings,
        index: KnowledgeIndex,
        embedder: Embedder,
        generator_for: Callable[[KnowledgeIndex], Runnable[GenerationInput, Draft]],
        input_rails: Sequence[InputRail] = (),
        output_rails: Sequence[OutputRail] = (),
    ) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self._generator_for = generator_for
        self.input_rails = list(input_rails)
        self.output_rails = list(output_rails)

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

    def answer(self, request: TurnRequest) -> TurnResult:
        started = time.perf_counter()
        message = self.validate(request)
        session_id = request.session_id or uuid.uuid4().hex
        turn_id = uuid.uuid4().hex
        language = detect_language(message)
        context = TurnContext(role=request.role, language=language)
        verdicts = [rail(message, context) for rail in self.input_rails]
        blocked = next((v for v in verdicts if v.action in ("block", "handoff")), None)
        if blocked is not None:
            return TurnResult(
                session_id,
                turn_id,
                blocked.text or blocked.reason,
                [],
                language,
                False,
                [],
                verdicts,
                _ms_since(started),
            )
        message = next(
            (v.text for v in reversed(verdicts) if v.action == "mask" and v.text), message
        )
        passages = self.search(message, request.role)
        context = TurnContext(role=request.role, language=language, passages=passages)
        draft = self._generator_for(self.index).invoke(
            GenerationInput(question=message, language=language, passages=passages)
        )
        for rail in self.output_rails:
            verdict = rail(draft, context)
            verdicts.append(verdict)
            if verdict.action in ("rewrite", "block") and verdict.text is not None:
                draft = Draft(text=verdict.text, citations=[], grounded=False)
        result = TurnResult(
            session_id,
            turn_id,
            draft.text,
            draft.citations,
            language,
            draft.grounded,
            passages,
            verdicts,
            _ms_since(started),
        )
        log.info(
            "turn %s session=%s role=%s lang=%s grounded=%s citations=%s %.0fms",
            turn_id,
            session_id,
            request.role,
            language,
            draft.grounded,
            [c.doc_id for c in draft.citations],
            result.elapsed_ms,
        )
        return result


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
