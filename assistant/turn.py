"""What a turn is made of, as typed data: the request that starts it, the result every channel
renders, and the seam through which a finished turn is remembered. Dicts appear only at the
edges (HTTP, CLI), through each type's `as_dict`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.advice.advisor import Advice
from assistant.advice.rules import Profile
from assistant.answer.generator import Citation
from assistant.guard import Action, Verdict
from assistant.roles import Role
from assistant.search.retrieval import Passage
from assistant.text import Language

# Whose turns these are when a caller names no one: the developer at their own machine.
LOCAL_OWNER = "local:local"


@dataclass(frozen=True)
class TurnRequest:
    message: str
    role: Role = Role.customer
    session_id: str | None = None
    # The caller's earlier questions (an OpenAI client sends its own); when empty, the
    # session's stored questions are read in.
    history: tuple[str, ...] = ()
    # Who is asking (channel and subject): only they continue or read back the session.
    owner: str = LOCAL_OWNER
    # The customer's profile as the teller entered it or the app backend signed it.
    profile: Profile | None = None


@dataclass(frozen=True)
class Handoff:
    """A turn handed to a person: the reference the user can quote, and what happens next."""

    reference: str
    kind: str
    next_steps: str

    def as_dict(self) -> dict[str, str]:
        return {"reference": self.reference, "next_steps": self.next_steps}


@dataclass(frozen=True)
class TurnResult:
    session_id: str
    turn_id: str
    answer: str
    citations: list[Citation]
    language: Language
    grounded: bool
    passages: list[Passage] = field(default_factory=list)
    action: Action = "allow"
    verdicts: list[Verdict] = field(default_factory=list)
    elapsed_ms: float = 0.0
    # The question as it may be stored: personal data masked.
    question: str = ""
    # The index generation every passage and citation of this turn came from.
    generation: str | None = None
    advice: Advice | None = None
    handoff: Handoff | None = None
    # Who wrote the answer: the generator asked, or the one it fell back on.
    generator: str = ""
    # The question as retrieval and the generator read it (a follow-up made standalone).
    standalone: str = ""
    # Why it was declined (assistant.answer.generator.DECLINE_REASONS); None when answered.
    decline_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "answer": self.answer,
            "citations": [c.as_dict() for c in self.citations],
            "session_id": self.session_id,
            "turn_id": self.turn_id,
            "language": self.language,
            "grounded": self.grounded,
            "action": self.action,
            "verdicts": [f.as_dict() for f in self.verdicts],
            "elapsed_ms": round(self.elapsed_ms, 1),
            "question": self.question,
            "generator": self.generator,
            "decline_reason": self.decline_reason,
        }
        if self.advice is not None:
            payload["suggestions"] = self.advice.as_dict()
        if self.handoff is not None:
            payload["handoff"] = self.handoff.as_dict()
        return payload


class Memory(Protocol):
    """Where sessions live: read before a turn (owner, history), written by its record stage."""

    def owner_of(self, session_id: str) -> str | None: ...

    def history(self, session_id: str, owner: str, turns: int) -> list[str]: ...

    def record(self, turn: TurnResult, request: TurnRequest) -> None: ...


class Audit(Protocol):
    """Where every turn is recorded for compliance, append-only."""

    def append(self, stream: str, kind: str, payload: dict[str, Any]) -> int: ...


class NoMemory:
    """Remembers nothing: one-off questions from the command line and the evaluations."""

    def owner_of(self, session_id: str) -> str | None:
        return None

    def history(self, session_id: str, owner: str, turns: int) -> list[str]:
        return []

    def record(self, turn: TurnResult, request: TurnRequest) -> None:
        return None
