"""What the rails decide, as data: a verdict per broken rule, the checked text, and the
order of severity by which the worst verdict decides a turn."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.text import Language

Action = Literal["allow", "mask", "rewrite", "block", "handoff"]
_SEVERITY: dict[str, int] = {"allow": 0, "mask": 1, "rewrite": 2, "handoff": 3, "block": 4}


@dataclass(frozen=True)
class Verdict:
    rule: str
    action: Action
    reason: str
    basis: str
    excerpt: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "action": self.action,
            "reason": self.reason,
            "basis": self.basis,
            "excerpt": self.excerpt,
        }


@dataclass
class GuardResult:
    action: Action
    text: str
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def rules(self) -> list[str]:
        return list(dict.fromkeys(f.rule for f in self.verdicts))

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "rules": self.rules,
            "text": self.text,
            "verdicts": [f.as_dict() for f in self.verdicts],
        }


@dataclass
class Screened(GuardResult):
    """A message after the input rails: `text` is the masked message (what may be stored),
    `searchable` the same without mask labels (what retrieval reads), and a hand-off's
    `handoff_kind` says what it is recorded as."""

    searchable: str = ""
    handoff_kind: str | None = None

    @property
    def decided_by(self) -> Verdict:
        """The verdict that stopped the message (a refusal or a hand-off); the input rails
        end with it."""
        return next(v for v in reversed(self.verdicts) if v.action == self.action)


def most_severe(actions: Iterable[Action]) -> Action:
    return max(actions, key=_SEVERITY.__getitem__, default="allow")


def worst(verdicts: Iterable[Verdict]) -> Action:
    return most_severe(f.action for f in verdicts)


def localised(messages: dict[str, str], language: Language) -> str:
    return messages.get(language) or messages["zh-CN"]


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


# Full-width ASCII to half-width, one character for one, so spans found in the folded text
# are spans of the original message.
HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
