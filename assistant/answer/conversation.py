"""Follow-up questions read in context: "那两年的呢？" after a question about a one-year CD is
a question about the two-year CD. Without a model to rewrite the question, the follow-up is
searched and answered together with the question it follows. What makes a follow-up is
content, in prompts/conversation.yaml."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from assistant.content import parse_yaml
from assistant.errors import ConfigurationError
from assistant.text import Language, detect_language

_HAN = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True)
class FollowUps:
    opener: re.Pattern[str]
    short_han: int
    short_words: int
    leaning_end: re.Pattern[str]

    @classmethod
    def load(cls, prompts_dir: Path) -> FollowUps:
        path = prompts_dir / "conversation.yaml"
        try:
            data = parse_yaml(path.read_text(encoding="utf-8"))
            openers = "|".join(f"(?:{p})" for p in data["openers"])
            return cls(
                re.compile(rf"^\s*(?:{openers})", re.IGNORECASE),
                int(data["short_chinese_characters"]),
                int(data["short_english_words"]),
                re.compile(data["leaning_end"]),
            )
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, re.error) as error:
            raise ConfigurationError(f"{path}: {error}; see the comments in the file") from None

    def is_follow_up(self, message: str, language: Language) -> bool:
        if self.opener.match(message):
            return True
        if language == "en":
            return len(_WORD.findall(message)) <= self.short_words
        short = len(_HAN.findall(message)) <= self.short_han
        return short and bool(self.leaning_end.search(message))

    def contextualize(self, history: Sequence[str], message: str, language: Language) -> str:
        """The question to search and answer: a follow-up carries the latest question of the
        session that stood on its own, so that a chain of follow-ups keeps its subject."""
        if not self.is_follow_up(message, language):
            return message
        standalone = next(
            (q for q in reversed(history) if not self.is_follow_up(q, detect_language(q))),
            None,
        )
        return f"{standalone} {message}" if standalone else message
