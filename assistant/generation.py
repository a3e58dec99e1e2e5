"""Answer generation behind one seam: a LangChain runnable from GenerationInput to Draft.

The embedded default is a grounded extractive composer. It answers only with sentences
quoted from the retrieved passages, cites each source as [n], and declines when the
passages do not cover the question's informative terms. LLM backends plug in as another
runnable with the same input and output.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import opencc
import yaml
from langchain_core.runnables import Runnable, RunnableLambda

from assistant.retrieval import Passage
from assistant.text import Language, content_terms, split_sentences, unknown_nouns

TermWeight = Callable[[str], float]
# Cosine similarity of a question to each of several texts.
Similarity = Callable[[str, Sequence[str]], Sequence[float]]

_BULLET = re.compile(r"^\s*(?:[-*•]\s+|\d+[.、)]\s*)")
_OPENS_LIST = ("：", ":")
_MAX_SENTENCES = 3
_MAX_ANSWER_CHARS = 420


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    title: str
    section: str
    passage: str
    chunk_id: str
    effective_from: str | None
    effective_to: str | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class GenerationInput:
    question: str
    language: Language
    passages: Sequence[Passage]


@dataclass(frozen=True)
class Draft:
    text: str
    citations: list[Citation] = field(default_factory=list)
    grounded: bool = True
    support: float = 0.0


@dataclass(frozen=True)
class ComposerWording:
    answer_intro: dict[str, str]
    decline: dict[str, str]
    suggestions_intro: dict[str, str]
    handoff_reference: dict[str, str]

    @classmethod
    def load(cls, prompts_dir: Path) -> ComposerWording:
        data = yaml.safe_load((prompts_dir / "composer.yaml").read_text(encoding="utf-8"))
        return cls(
            answer_intro=data["answer_intro"],
            decline=data["decline"],
            suggestions_intro=data["suggestions_intro"],
            handoff_reference=data["handoff_reference"],
        )


@dataclass(frozen=True)
class Candidate:
    passage_rank: int
    position: int
    text: str
    support: float


def sentence_units(passage_text: str) -> list[str]:
    """A passage's quotable units: its sentences, with table rows read against their header."""
    units: list[str] = []
    header: list[str] | None = None
    list_open = False
    for line in passage_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            cells = [cell.strip() for cell in stripped.strip("|").split("|")]
            if header is None:
                header = cells
            else:
                units.append(render_row(header, cells))
            continue
        header = None
        item = _BULLET.sub("", stripped)
        if _BULLET.match(stripped) and units and (list_open or units[-1].endswith(_OPENS_LIST)):
            # A list belongs to the sentence that introduces it ("利率如下：- 1年期 1.55%").
            separator = "" if units[-1].endswith(_OPENS_LIST) else "；"
            units[-1] = units[-1] + separator + item.rstrip("；;。")
            list_open = True
            continue
        list_open = False
        units.extend(split_sentences(item))
    return [unit for unit in units if unit]


def render_row(header: Sequence[str], cells: Sequence[str]) -> str:
    """'| 期限 | 年利率 |' over '| 3年 | 1.90% |' reads as '期限：3年，年利率：1.90%。'"""
    pairs = [f"{h}：{c}" if h else c for h, c in zip(header, cells, strict=False) if c]
    return "，".join(pairs) + "。"


def lexical_support(
    question_terms: set[str], sentence: str, context: str, weight: TermWeight
) -> float:
    """Share of the question's information (terms weighted by rarity) that a sentence covers.
    Terms found only in the passage's title or section count half."""
    total = sum(weight(t) for t in question_terms)
    if total == 0:
        return 0.0
    in_sentence = question_terms & content_terms(sentence)
    in_context = (question_terms - in_sentence) & content_terms(context)
    covered = sum(weight(t) for t in in_sentence) + 0.5 * sum(weight(t) for t in in_context)
    return covered / total


def rank_candidates(
    question: str, passages: Sequence[Passage], weight: TermWeight, similarity: Similarity
) -> list[Candidate]:
    """Every quotable sentence of the passages, scored by how well it answers the question:
    half lexical coverage of the question's informative terms, half semantic similarity."""
    terms = content_terms(question)
    units = [
        (rank, position, unit, f"{passage.chunk.title} {passage.chunk.section}")
        for rank, passage in enumerate(passages)
        for position, unit in enumerate(sentence_units(passage.chunk.text))
    ]
    if not units:
        return []
    semantic = similarity(question, [f"{context}：{unit}" for *_, unit, context in units])
    candidates = [
        Candidate(
            rank,
            position,
            unit,
            0.5 * lexical_support(terms, unit, context, weight) + 0.5 * float(cosine),
        )
        for (rank, position, unit, context), cosine in zip(units, semantic, strict=True)
    ]
    return sorted(candidates, key=lambda c: (-c.support, c.passage_rank, c.position))


def anchors(question: str, weight: TermWeight, unknown: float) -> list[str]:
    """What an answer must be about and the knowledge base never mentions: a Chinese noun
    of the question that no passage uses (保险箱, 礼品, 社保卡). Such a question is about
    something undocumented, however well other words match. Other unknown words are chatter
    or typos (现在, 几次, 存丹) and are not required."""
    terms = content_terms(question)
    return [t for t in unknown_nouns(question) if t in terms and weight(t) >= unknown]


def covers(anchor: str, terms: set[str]) -> bool:
    """Whether a passage's terms contain the anchor, forgiving one mistyped character in a
    Chinese word (大额存丹, 挂矢, 理材)."""
    if anchor in terms:
        return True
    if len(anchor) < 2 or anchor.isascii():
        return False
    return any(
        len(term) == len(anchor) and sum(a != b for a, b in zip(term, anchor, strict=True)) == 1
        for term in terms
    )


def select(candidates: Sequence[Candidate], min_support: float) -> list[Candidate]:
    """The best sentence, plus close runners-up, within a short answer's length."""
    if not candidates or candidates[0].support < min_support:
        return []
    floor = max(min_support, 0.85 * candidates[0].support)
    chosen: list[Candidate] = []
    length = 0
    for candidate in candidates:
        if candidate.support < floor or len(chosen) == _MAX_SENTENCES:
            break
        if any(candidate.text == c.text for c in chosen):
            continue
        if chosen and length + len(candidate.text) > _MAX_ANSWER_CHARS:
            continue
        chosen.append(candidate)
        length += len(candidate.text)
    # The most relevant source speaks first; within a source, sentences keep their order.
    source_order = {c.passage_rank: -c.support for c in reversed(chosen)}
    return sorted(chosen, key=lambda c: (source_order[c.passage_rank], c.position))


def compose(
    request: GenerationInput,
    wording: ComposerWording,
    weight: TermWeight,
    similarity: Similarity,
    min_support: float,
) -> Draft:
    candidates = rank_candidates(request.question, request.passages, weight, similarity)
    chosen = select(candidates, min_support)
    if chosen and not _on_topic(request, chosen[0], weight):
        chosen = []
    if not chosen:
        return Draft(
            text=_localise(wording.decline[request.language], request.language), grounded=False
        )
    citations: list[Citation] = []
    paragraphs: list[str] = []
    previous_doc = None
    for rank in dict.fromkeys(c.passage_rank for c in chosen):
        chunk = request.passages[rank].chunk
        n = len(citations) + 1
        citations.append(
            Citation(
                n,
                chunk.doc_id,
                chunk.title,
                chunk.section,
                chunk.text,
                chunk.chunk_id,
                chunk.effective_from,
                chunk.effective_to,
            )
        )
        quoted = _join_quotes([c.text for c in chosen if c.passage_rank == rank]) + f"[{n}]"
        if chunk.doc_id == previous_doc:
            # A second passage of the same document continues its paragraph.
            paragraphs[-1] = _join_quotes([paragraphs[-1], quoted])
        else:
            intro = wording.answer_intro[request.language].format(title=chunk.title)
            paragraphs.append(intro + quoted)
        previous_doc = chunk.doc_id
    return Draft(
        text=_localise("\n".join(paragraphs), request.language),
        citations=citations,
        grounded=True,
        support=max(c.support for c in chosen),
    )


def _on_topic(request: GenerationInput, best: Candidate, weight: TermWeight) -> bool:
    """The best sentence, with its title and section, names every anchor of the question.
    Across languages words cannot be compared, so the support score alone decides."""
    chunk = request.passages[best.passage_rank].chunk
    if (chunk.language == "en") != (request.language == "en"):
        return True
    terms = content_terms(f"{chunk.title} {chunk.section} {best.text}")
    unknown = weight("\x00")  # the weight of a word the corpus never uses
    return all(covers(a, terms) for a in anchors(request.question, weight, unknown))


def extractive_generator(
    wording: ComposerWording, weight: TermWeight, similarity: Similarity, min_support: float
) -> Runnable[GenerationInput, Draft]:
    """The embedded default generator, as a LangChain runnable."""
    return RunnableLambda(
        lambda request: compose(request, wording, weight, similarity, min_support),
        name="extractive_composer",
    )


def _join_quotes(sentences: list[str]) -> str:
    out = ""
    for sentence in sentences:
        if out and out[-1].isascii() and sentence[:1].isascii():
            out += " "
        out += sentence
    return out


@lru_cache(maxsize=1)
def _to_traditional() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def _localise(text: str, language: Language) -> str:
    """A Traditional Chinese question gets its answer in Traditional characters."""
    return _to_traditional().convert(text) if language == "zh-TW" else text
