"""Pinyin-input typos: 大额存丹 for 大额存单, 挂矢 for 挂失, 信用咔 for 信用卡, 销护 for 销户.

Customers type on phone keyboards that turn pinyin into characters and sometimes pick a
character of the same sound from the wrong word. The mistyped character no longer forms a
word, so the segmenter leaves it standing alone. When the knowledge base uses a word that
differs from the text around that character only in it, and the two characters sound the
same, that word is what was meant.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from functools import lru_cache

import jieba
from pypinyin import Style, lazy_pinyin

from assistant.text import to_simplified

_HAN = re.compile(r"[\u4e00-\u9fff]+")
# A character this common standing alone (包, 号, 的) is more likely the word meant than a
# slip of the keyboard.
_MAX_SLIP_FREQUENCY = 5000
# A neighbour this common alone (有, 在, 的) is a word of its own, not part of the mistyped one.
_MIN_PARTICLE_FREQUENCY = 100_000
_WORD_LENGTHS = (2, 3, 4)


@lru_cache(maxsize=4096)
def _sound(character: str) -> str:
    """The character's usual reading, without tone."""
    return lazy_pinyin(character, style=Style.NORMAL)[0]


def _standalone_frequency(word: str) -> int:
    return jieba.dt.FREQ.get(word, 0)


class Speller:
    """Corrects one-character homophone slips towards words of the knowledge base."""

    def __init__(self, document_frequency: Mapping[str, int], min_documents: int = 2) -> None:
        self._known = document_frequency
        # "大额存?" -> the corpus words that fill the gap, for each position of each word.
        self._gaps: dict[str, list[str]] = defaultdict(list)
        for word, documents in document_frequency.items():
            if documents >= min_documents and len(word) in _WORD_LENGTHS and _HAN.fullmatch(word):
                for i in range(len(word)):
                    self._gaps[word[:i] + "?" + word[i + 1 :]].append(word)

    def correct(self, text: str) -> str:
        """The text with each slip replaced by the character meant; unchanged otherwise."""
        simplified = to_simplified(text)
        if len(simplified) != len(text):
            return text  # Positions would not line up; leave the text as typed.
        jieba.initialize()
        characters = list(text)
        for position, replacement in self._slips(simplified):
            characters[position] = replacement
        return "".join(characters)

    def _slips(self, text: str) -> list[tuple[int, str]]:
        """(position, character meant) for each lone character that is a slip."""
        alone: set[int] = set()
        position = 0
        for token in jieba.lcut(text, HMM=False):
            if len(token) == 1 and _HAN.match(token):
                alone.add(position)
            position += len(token)
        slips = []
        for i in sorted(alone):
            # A common character alone (包, 号) is more likely meant than mistyped, unless a
            # whole longer word around it fell apart into single characters (薪易代).
            common = _standalone_frequency(text[i]) >= _MAX_SLIP_FREQUENCY
            meant = self._word_meant(text, i, alone, whole_word_lone=common)
            if meant is not None:
                slips.append((i, meant))
        return slips

    def _word_meant(
        self, text: str, i: int, alone: set[int], whole_word_lone: bool = False
    ) -> str | None:
        """The character meant at position i: the longest, then most used, corpus word that
        the surrounding characters form with a same-sounding character there; with
        whole_word_lone, only a word of three or more characters, all of which the segmenter
        left alone: two common characters side by side (不补, 这算) are usually two words."""
        best: tuple[int, int, str] | None = None
        for length in _WORD_LENGTHS:
            for start in range(max(0, i - length + 1), min(i, len(text) - length) + 1):
                window = text[start : start + length]
                if not _HAN.fullmatch(window) or self._is_word(window):
                    continue
                if whole_word_lone and (
                    length < 3 or not all(j in alone for j in range(start, start + length))
                ):
                    continue
                if any(
                    j in alone and _standalone_frequency(text[j]) >= _MIN_PARTICLE_FREQUENCY
                    for j in range(start, start + length)
                    if j != i
                ):
                    continue
                k = i - start
                for word in self._gaps.get(window[:k] + "?" + window[k + 1 :], []):
                    if word[k] != window[k] and _sound(word[k]) == _sound(window[k]):
                        candidate = (length, self._known[word], word[k])
                        best = max(best or candidate, candidate)
        return best[2] if best else None

    def _is_word(self, text: str) -> bool:
        return text in self._known or _standalone_frequency(text) > 0
