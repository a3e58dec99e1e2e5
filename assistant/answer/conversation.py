"""Follow-up questions read in context: "那两年的呢？" after a question about a one-year CD is
a question about the two-year CD. Without a model to rewrite the question, the follow-up is
searched and answered together with the question it follows."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.text import Language, detect_language

# Openers that only make sense after an earlier question.
_FOLLOW_UP = re.compile(
    r"^\s*(那么?|那如果|如果是|要是|还有|另外|再问|那个|它|這|那|還有|另外|"
    r"what about|how about|and (for|if|what|the)|what if|same for|and\b|also\b|is it|does it|"
    r"can i|for (two|three|five|\d+))",
    re.IGNORECASE,
)
_HAN = re.compile(r"[\u4e00-\u9fff]")
# A short question ending in 呢 ("两年的呢？", "美元呢") leans on the one before it; so does an
# English question of a few words ("in dollars?"). Longer ones usually stand alone.
_SHORT_HAN = 6
_SHORT_WORDS = 3
_LEANING_END = re.compile(r"呢[？?。!！\s]*$")


def is_follow_up(message: str, language: Language) -> bool:
    if _FOLLOW_UP.match(message):
        return True
    if language == "en":
        return len(re.findall(r"[A-Za-z0-9]+", message)) <= _SHORT_WORDS
    return len(_HAN.findall(message)) <= _SHORT_HAN and bool(_LEANING_END.search(message))


def contextualize(history: Sequence[str], message: str, language: Language) -> str:
    """The question to search and answer: a follow-up carries the latest question of the
    session that stood on its own, so that a chain of follow-ups keeps its subject."""
    if not is_follow_up(message, language):
        return message
    standalone = next(
        (q for q in reversed(history) if not is_follow_up(q, detect_language(q))), None
    )
    return f"{standalone} {message}" if standalone else message
