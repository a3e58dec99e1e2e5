"""The bank's glossary: groups of words that name the same thing, across languages and registers.

Keyword search only finds the words a question uses. A customer asks about a "time deposit"
while the sheet says 整存整取定期存款; a caller asks for the 电话 where the policy prints the
热线. The glossary, kept by product staff beside the documents, lets the keyword query also
carry the other names of what the question names, and lets the composer count a sentence in
other words as covering the question. Dense search needs no help and gets none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.content import parse_yaml
from assistant.errors import ConfigurationError
from assistant.text import fold, tokenize


class GlossaryError(ConfigurationError):
    """The glossary file cannot be read; the message names the entry to fix."""


Words = tuple[str, ...]


@dataclass(frozen=True)
class Glossary:
    groups: tuple[Words, ...] = ()
    # Two sides of a boundary (境外 / 境内): an answer about one side does not answer a
    # question about the other.
    opposed_scopes: tuple[tuple[Words, Words], ...] = ()

    @classmethod
    def load(cls, path: Path) -> Glossary:
        """The glossary at path; an empty one when the bank keeps none."""
        if not path.exists():
            return cls()
        data = parse_yaml(path.read_text(encoding="utf-8")) or {}
        entries = data.get("synonyms", []) if isinstance(data, dict) else None
        scopes = data.get("opposed_scopes", []) if isinstance(data, dict) else None
        if not isinstance(entries, list) or not isinstance(scopes, list):
            raise GlossaryError(
                f"{path}: expected a mapping with lists under 'synonyms' and 'opposed_scopes'"
            )
        groups = [_words(path, "synonyms", n, entry) for n, entry in enumerate(entries, 1)]
        return cls(tuple(groups), tuple(_sides(path, n, pair) for n, pair in enumerate(scopes, 1)))

    def other_names(self, text: str) -> list[str]:
        """The names the text does not use for each thing it names, in glossary order."""
        folded = fold(text)
        found: list[str] = []
        for group in self.groups:
            if any(uses_word(folded, word) for word in group):
                found.extend(word for word in group if not uses_word(folded, word))
        return list(dict.fromkeys(found))

    def terms_of(self, text: str) -> frozenset[str]:
        """The terms a text uses, with those of the other names of what it names."""
        return _terms_of(self, text)

    def keyword_terms(self, query: str) -> list[str]:
        """Keyword-search tokens of a query: its own, then those of the other names of what
        it names. A Chinese question gets only Chinese names: every document has a Chinese
        version, and English names would pull in English passages it cannot be answered from."""
        tokens = tokenize(query)
        own = set(tokens)
        names = self.other_names(query)
        if not query.isascii():
            names = [name for name in names if not name.isascii()]
        extra = [t for name in names for t in tokenize(name) if t not in own]
        return [*tokens, *dict.fromkeys(extra)]


def _words(path: Path, section: str, number: int, entry: object) -> Words:
    if (
        not isinstance(entry, list)
        or len(entry) < 2
        or not all(isinstance(word, str) and word.strip() for word in entry)
    ):
        raise GlossaryError(
            f"{path}: {section} entry {number} must list two or more words, got {entry!r}"
        )
    return tuple(dict.fromkeys(fold(word.strip()) for word in entry))


def _sides(path: Path, number: int, pair: object) -> tuple[Words, Words]:
    if (
        not isinstance(pair, list)
        or len(pair) != 2
        or not all(isinstance(side, list) and side for side in pair)
    ):
        raise GlossaryError(
            f"{path}: opposed_scopes entry {number} must be two lists of words, got {pair!r}"
        )
    one, other = (tuple(fold(str(word).strip()) for word in side) for side in pair)
    return one, other


# The composer asks this of the same passages' sentences turn after turn.
@lru_cache(maxsize=65536)
def _terms_of(glossary: Glossary, text: str) -> frozenset[str]:
    names = glossary.other_names(text)
    return frozenset(tokenize(text)).union(*(tokenize(name) for name in names))


def uses_word(folded: str, word: str) -> bool:
    """Whether folded text uses a word: a Chinese word anywhere, a Latin one as whole words
    (cd is not in 'cdn', fee not in 'feedback')."""
    # Every turn asks this of every glossary word for each of its sentences: the substring
    # test first, since nearly every word is absent, and the whole-word pattern compiled once.
    if word not in folded:
        return False
    return not word.isascii() or _whole_word(word).search(folded) is not None


@lru_cache(maxsize=4096)
def _whole_word(word: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])")
