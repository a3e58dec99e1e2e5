"""Language-aware text primitives: script folding, tokens for keyword search, sentences."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Annotated, Literal, get_args

import jieba
import opencc
from pydantic import AfterValidator

Language = Literal["zh-CN", "zh-TW", "en"]
# Every text a user reads is written in each of these.
LANGUAGES: tuple[Language, ...] = get_args(Language)

# Bump when tokenize() or fold() change: indexes built before are re-tokenized on ingest.
TOKENIZER_VERSION = 3

jieba.setLogLevel(logging.WARNING)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_TOKEN_OK = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)
# A sentence ends at Chinese or Western terminal punctuation (followed by space or end for '.').
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|(?<=\.)(?=\s)|\n+")

_STOPWORD_TEXT = (
    "的 了 是 在 和 与 或 及 吗 呢 吧 啊 呀 么 么样 怎么 怎样 如何 "
    "什么 哪些 哪个 多少 请问 一下 我 我们 你 你们 您 他 她 它 这 "
    "那 这个 那个 有 没有 可以 能 能否 会 要 想 需要 就 都 也 还 又 "
    "对 为 被 把 从 到 给 让 个 a an the is are was were be been of "
    "to in on for and or with at by from as it this that what which "
    "how much many can could do does did i my me we our you your "
    "please there any about when where who "
    "怎么办 怎么样 最多 最少 几 几天 多久 多长 是否 哪里 哪儿 吗？ 呢？ 请 麻烦 想问 问 知道 告诉 "
    "一下子 啥 咋 咋办 么办 办 "
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@lru_cache(maxsize=1)
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _to_simplified().convert(text) if _CJK.search(text) else text


_NUMERALS = {
    "一": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
    "十": "10",
}
_COUNTED = re.compile(
    r"([一二两三四五六七八九十])(?=(年|个月|月|天|日|次|万|千|百|岁|张|笔|克|周|个工作日))"
)
# Variant characters: 帐户 for 账户, and Taiwan's 哩程 for the mainland's 里程 (mileage).
_VARIANTS = str.maketrans({"帐": "账", "哩": "里"})


def fold(text: str) -> str:
    """Normalise width, script, case, variant characters and small counted numerals, so that
    大額存單 and 大额存单, 一年期 and 1年期, 帐户 and 账户 compare equal."""
    text = to_simplified(unicodedata.normalize("NFKC", text)).lower().translate(_VARIANTS)
    return _COUNTED.sub(_numeral, text)


def _numeral(match: re.Match[str]) -> str:
    """A counted numeral as digits, kept apart from a Latin word before it: ATM一天 folds
    to 'atm 1天', not to the one token 'atm1'."""
    before = match.string[match.start() - 1 : match.start()]
    return (" " if before.isascii() and before.isalnum() else "") + _NUMERALS[match.group(1)]


def detect_language(text: str) -> Language:
    """Guess zh-CN, zh-TW or en from the script of the text."""
    cjk = len(_CJK.findall(text))
    latin = sum(len(w) for w in _LATIN_WORD.findall(text))
    if cjk == 0 or latin > cjk * 3:
        return "en"
    return "zh-TW" if _to_simplified().convert(text) != text else "zh-CN"


def tokenize(text: str) -> list[str]:
    """Keyword-search tokens: jieba's search-mode words of the folded text (long words also
    yield their sub-words), stopwords and punctuation dropped."""
    return list(_tokens(text))


# Every turn tokenizes the sentences of the passages it retrieved, and under load the same
# passages come back turn after turn; segmenting is most of a turn's keyword work.
@lru_cache(maxsize=65536)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(
        word
        for word in (w.strip() for w in jieba.lcut_for_search(fold(text)))
        if word and word not in _STOPWORDS and _TOKEN_OK.search(word)
    )


def content_terms(text: str) -> set[str]:
    """The distinct meaningful terms of a question, used to judge whether a passage answers it."""
    return set(tokenize(text))


def split_sentences(text: str) -> list[str]:
    """Split on Chinese and Western sentence ends; keeps the punctuation with its sentence."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


# Characters no person types: control characters (tabs and line breaks aside) and halves of
# surrogate pairs, which cannot be encoded as UTF-8 and break every library after them.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def not_text(text: str) -> str | None:
    """What in a string is not text, said for the person who sent it; None when all is."""
    found = _NOT_TEXT.search(text)
    if found is None:
        return None
    code = ord(found.group())
    kind = "half of a surrogate pair" if code >= 0xD800 else "a control character"
    return f"character {found.start() + 1} is not text ({kind}, U+{code:04X}); send UTF-8 text"


def checked_text(text: str) -> str:
    """A pydantic validator: refuse a string that is not text, saying where."""
    problem = not_text(text)
    if problem:
        raise ValueError(problem)
    return text


# A string field of a request: only text a person could have typed.
Text = Annotated[str, AfterValidator(checked_text)]


# A sentence ends at Chinese punctuation, or at a full stop before a capital ("No. 1" is
# not an ending), and keeps its citation markers.
_SEGMENT = re.compile(
    r".+?(?:[。！？!?；;]+|\.(?=\s+[A-Z\u4e00-\u9fff]|\s*$)|\n|$)(?:\[\d+\])*\s*", re.DOTALL
)


def segments(text: str) -> list[str]:
    """A reply's sentences with their citation markers attached ("…20万元。[1]"), in the
    pieces that streaming releases and the output rails check one at a time."""
    return [m.group() for m in _SEGMENT.finditer(text) if m.group().strip()]


_PARTIAL_MARKER = re.compile(r"\s*(?:\[\d*\]?)+\s*")


def sentences_in(pieces: Iterable[str]) -> Iterator[str]:
    """Text arriving in pieces (a model's tokens), as whole segments: each released once the
    next one has begun, so that its citation markers are with it."""
    buffer = ""
    for piece in pieces:
        buffer += piece
        done = segments(buffer)
        # A marker still arriving ("[", "[1") belongs to the segment before it.
        held = 2 if len(done) > 1 and _PARTIAL_MARKER.fullmatch(done[-1]) else 1
        yield from done[:-held]
        buffer = "".join(done[-held:])
    if buffer.strip():
        yield buffer


# Nouns that only complete a question word (什么时候 "when", 什么地方 "where"): they ask,
# they do not name what is asked about.
_QUESTION_NOUNS = frozenset({"时候", "地方", "东西"})
# Besides nouns, words that set one product or case apart from its neighbours: distinguishing
# attributes (临时), set phrases and brand names (颐享), abbreviations and units (美元).
_SUBJECT_FLAGS = ("n", "b", "i", "j", "l", "q")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
# A capitalised English word after the first word of its sentence, or an acronym: a name.
_ENGLISH_NAME = re.compile(r"(?<![.?!:]\s)(?<!^)\b(?:[A-Z][a-z]+|[A-Z][A-Z0-9]+)\b")


@lru_cache(maxsize=16384)
def _tagged(folded: str) -> tuple[tuple[str, str], ...]:
    """jieba's words with their part of speech. Its tagger loads a dictionary of its own
    (a third of a second), which only questions about subjects need."""
    import jieba.posseg

    return tuple((pair.word, pair.flag) for pair in jieba.posseg.lcut(folded))


def unknown_nouns(text: str) -> list[str]:
    """Chinese nouns of a text (folded), for judging what a question is about."""
    return [
        word
        for word, flag in _tagged(fold(text))
        if flag.startswith("n")
        and len(word) > 1
        and _CJK.match(word)
        and word not in _QUESTION_NOUNS
    ]


def subject_terms(text: str) -> list[str]:
    """The folded words that name what a text is about: Chinese nouns and other naming
    words, English names and acronyms (USD, Private Select), and years (2027)."""
    chinese = [
        word
        for word, flag in _tagged(fold(text))
        if flag.startswith(_SUBJECT_FLAGS)
        and len(word) > 1
        and _CJK.match(word)
        and word not in _QUESTION_NOUNS
    ]
    english = [fold(name) for name in _ENGLISH_NAME.findall(text) if name != "I"]
    return list(dict.fromkeys(chinese + english + _YEAR.findall(text)))
