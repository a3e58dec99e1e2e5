"""The embedded default generator: a grounded extractive composer. It answers only with
sentences quoted from the retrieved passages, cites each source as [n], and declines when
the passages do not cover the question's informative terms, or are about something else
than what was asked (another product, a term it does not offer, the other side of a
boundary)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

import opencc

from assistant.answer.generator import (
    Citation,
    Draft,
    DraftStream,
    GenerationInput,
    GeneratorContext,
    TermWeight,
    citation_of,
    generators,
    streamed,
)
from assistant.answer.wording import ComposerWording
from assistant.search.catalog import IndexedChunk
from assistant.search.glossary import Glossary, Words
from assistant.search.retrieval import Passage
from assistant.text import (
    Language,
    content_terms,
    fold,
    segments,
    split_sentences,
    subject_terms,
    unknown_nouns,
)

# The terms a passage's text names, for judging whether it covers a question's terms; the
# glossary adds the other names of what it names (热线 covers a question's 电话).
TermsOf = Callable[[str], AbstractSet[str]]
# Cosine similarity of a question to each of several texts.
Similarity = Callable[[str, Sequence[str]], Sequence[float]]

# A question asking how much or how many, and a sentence that states an amount (in folded
# text, where 一年 reads 1年) or that there is none to pay.
_ASKS_AMOUNT = re.compile(r"多少|几|how (?:much|many)", re.IGNORECASE)
_STATES_AMOUNT = re.compile(r"\d|免|不收|\bfree\b|waived|no (?:fee|charge)", re.IGNORECASE)
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]+\b")
# A list item's marker; a number that goes on (1.55%, 2026.01.01) is not one.
_BULLET = re.compile(r"^\s*(?:[-*•]\s+|\d+[.、)](?!\d)\s*)")
_OPENS_LIST = ("：", ":")
# A term a question names as a product variant (5年期, 7天通知, a 14-day notice deposit), and
# any duration a passage mentions (5年, 3个月, 90 days), read in folded text.
_VARIANT_TERM = re.compile(
    r"(?<![\d.])(\d{1,3})\s*(年|个月|天)(?=期|通知|持有)"
    r"|(?<![\w.])(\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten)-(year|month|day)\b"
)
_DURATION = re.compile(
    r"(?<![\d.])(\d{1,3})\s*(年|个月|天)"
    r"|(?<![\w.])(\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten)[- ](year|month|day)s?\b"
)
_UNITS = {"年": "year", "个月": "month", "天": "day"} | {u: u for u in ("year", "month", "day")}
_ENGLISH_NUMBERS = {
    w: str(n)
    for n, w in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    )
}


@dataclass(frozen=True)
class AnswerLimits:
    sentences: int
    chars: int


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


def list_of(passage_text: str, limit: int = 1200) -> list[str]:
    """A passage's list as Markdown lines, with the sentence that introduces it; empty when
    the passage holds no list of two items or more, or one too long to quote whole."""
    lines = [line.strip() for line in passage_text.splitlines() if line.strip()]
    bullets = [i for i, line in enumerate(lines) if _BULLET.match(line)]
    if len(bullets) < 2:
        return []
    start = bullets[0] - 1 if bullets[0] > 0 else bullets[0]
    end = bullets[-1] + 1
    items = [
        f"- {_BULLET.sub('', line)}" if _BULLET.match(line) else line for line in lines[start:end]
    ]
    return items if sum(len(i) for i in items) <= limit else []


def render_row(header: Sequence[str], cells: Sequence[str]) -> str:
    """'| 期限 | 年利率 |' over '| 3年 | 1.90% |' reads as '期限：3年，年利率：1.90%。'"""
    pairs = [f"{h}：{c}" if h else c for h, c in zip(header, cells, strict=False) if c]
    return "，".join(pairs) + "。"


def lexical_support(
    question_terms: set[str],
    sentence: str,
    context: str,
    weight: TermWeight,
    terms_of: TermsOf = content_terms,
) -> float:
    """Share of the question's information (terms weighted by rarity) that a sentence covers.
    Terms found only in the passage's title or section count half."""
    total = sum(weight(t) for t in question_terms)
    if total == 0:
        return 0.0
    in_sentence = question_terms & terms_of(sentence)
    in_context = (question_terms - in_sentence) & terms_of(context)
    covered = sum(weight(t) for t in in_sentence) + 0.5 * sum(weight(t) for t in in_context)
    return covered / total


def rank_candidates(
    question: str,
    passages: Sequence[Passage],
    weight: TermWeight,
    similarity: Similarity,
    terms_of: TermsOf = content_terms,
) -> list[Candidate]:
    """Every quotable sentence of the passages, scored by how well it answers the question:
    half lexical coverage of the question's informative terms, half semantic similarity."""
    terms = content_terms(question)
    units = [
        (rank, position, unit, unit_context(passage.chunk))
        for rank, passage in enumerate(passages)
        for position, unit in enumerate(sentence_units(passage.chunk.text))
    ]
    if not units:
        return []
    semantic = similarity(question, [read_in_context(unit, context) for *_, unit, context in units])
    candidates = [
        Candidate(
            rank,
            position,
            unit,
            0.5 * lexical_support(terms, unit, context, weight, terms_of) + 0.5 * float(cosine),
        )
        for (rank, position, unit, context), cosine in zip(units, semantic, strict=True)
    ]
    return sorted(candidates, key=lambda c: (-c.support, c.passage_rank, c.position))


def unit_context(chunk: IndexedChunk) -> str:
    """Where a passage's sentences stand: its document's title and its section."""
    return f"{chunk.title} {chunk.section}"


def read_in_context(unit: str, context: str) -> str:
    """A sentence as the composer compares it with the question: under its title and section,
    so that "起存金额为 20 万元" is about the product it belongs to."""
    return f"{context}：{unit}"


def ranked_texts(chunk: IndexedChunk) -> list[str]:
    """What ranking a passage's sentences embeds, whatever the question: an ingest prepares
    these vectors once (assistant/search/prepared.py)."""
    context = unit_context(chunk)
    return [read_in_context(unit, context) for unit in sentence_units(chunk.text)]


def anchors(question: str, weight: TermWeight, unknown: float) -> list[str]:
    """What an answer must be about and the knowledge base never mentions: a Chinese noun
    of the question that no passage uses (保险箱, 礼品, 社保卡). Such a question is about
    something undocumented, however well other words match. Other unknown words are chatter
    or typos (现在, 几次, 存丹) and are not required."""
    terms = content_terms(question)
    return [t for t in unknown_nouns(question) if t in terms and weight(t) >= unknown]


def covers(anchor: str, terms: AbstractSet[str]) -> bool:
    """Whether a passage's terms contain the anchor, forgiving one mistyped character in a
    Chinese word (大额存丹, 挂矢, 理材), or name it in parts (房贷利率 as 房贷 and 利率)."""
    if anchor in terms:
        return True
    if len(anchor) < 2 or anchor.isascii():
        return False
    return composed_of(anchor, terms) or any(
        len(term) == len(anchor) and sum(a != b for a, b in zip(term, anchor, strict=True)) == 1
        for term in terms
    )


def composed_of(word: str, terms: AbstractSet[str]) -> bool:
    """Whether a word the corpus never uses joins words a passage does use (房贷 + 利率,
    金卡 + 后): jieba keeps such a compound whole, though nothing in it is unknown."""
    # reachable[i]: word[:i] is a sequence of passage terms; one of them must be a real word.
    reachable: list[set[bool]] = [set() for _ in range(len(word) + 1)]
    reachable[0].add(False)
    for start in range(len(word)):
        for end in range(start + 1, len(word) + 1):
            piece = word[start:end]
            if reachable[start] and piece != word and piece in terms:
                reachable[end] |= {long or end - start > 1 for long in reachable[start]}
    return True in reachable[len(word)]


def absent_subjects(
    question: str,
    passages: Sequence[Passage],
    language: Language,
    weight: TermWeight,
    rare: float,
    terms_of: TermsOf = content_terms,
) -> list[str]:
    """What the question names that no passage in its language mentions: a currency, brand,
    year or other rare word (美元, 颐享, 2027, USD) the passages never use. Retrieval looked
    for that word; passages without it describe a neighbouring product, not the one asked
    about. Common words (利率, fee) are often paraphrased and are not required."""
    same = [p.chunk for p in passages if (p.chunk.language == "en") == (language == "en")]
    if not same:
        return []  # Across languages words cannot be compared.
    headed = [fold(_whole(c)) for c in same]
    text = " ".join(headed)
    # Passage by passage: each passage's terms are asked for again turn after turn.
    mentioned = frozenset().union(*map(terms_of, headed))
    asked = content_terms(question)
    unknown = weight("\x00")
    # Chinese words the corpus never uses are anchors (_on_topic) or mis-segmentations (内要);
    # an acronym it never uses may abbreviate words it does (FX: foreign exchange). An English
    # name it never uses (Private Select) is asked about and cannot be documented.
    acronyms = {fold(a) for a in _ACRONYM.findall(question)}
    return [
        term
        for term in subject_terms(question)
        if term in asked
        and rare <= weight(term)
        and (weight(term) < unknown or (term.isascii() and term not in acronyms))
        and not mentions(term, mentioned, text)
        and not spelled_out(term, text)
    ]


def mentions(term: str, terms: AbstractSet[str], text: str) -> bool:
    """Whether passages name a word the corpus uses, exactly: 美元 is not a mistyped 万元,
    nor 经理 a mistyped 管理. A Chinese word may be named in parts or in its long form."""
    if term in terms:
        return True
    return not term.isascii() and (composed_of(term, terms) or abbreviated(term, text))


def abbreviated(word: str, folded: str) -> bool:
    """Whether a folded text holds a Chinese word inside a longer one, or its long form: 车贷
    for 汽车消费贷款, 房贷利率 for 住房贷款利率 (up to two characters between the word's)."""
    gaps = ".{0,2}".join(re.escape(char) for char in word)
    return re.search(gaps, folded) is not None


def answers_amount(question: str, sentences: Sequence[str]) -> bool:
    """A question asking how much or how many is answered only by sentences that give a
    number, or say it is free: quoting a product's description to 'what is the rate' is
    not an answer (the rate asked about is not documented)."""
    if not _ASKS_AMOUNT.search(question):
        return True
    return any(_STATES_AMOUNT.search(fold(sentence)) for sentence in sentences)


def durations(text: str, pattern: re.Pattern[str] = _DURATION) -> set[tuple[str, str]]:
    """(number, unit) of each duration a text names, alike across languages: 5年期 and
    5-year both read ('5', 'year')."""
    found = set()
    for match in pattern.finditer(fold(text)):
        number, unit = (match.group(1), match.group(2)) if match.group(1) else match.group(3, 4)
        found.add((_ENGLISH_NUMBERS.get(number, number), _UNITS[unit]))
    return found


def offers_terms(question: str, passage_text: str) -> bool:
    """Whether a passage mentions every term the question names as a product variant: a
    question about a 5年期大额存单 is not answered by a sheet whose terms end at 3 years."""
    return durations(question, _VARIANT_TERM) <= durations(passage_text)


def crosses_scope(question: str, answer: str, scopes: Sequence[tuple[Words, Words]]) -> bool:
    """Whether the answer speaks only of the other side of a boundary the question names
    (境外 against 境内, credit against debit card)."""
    asked, said = fold(question), fold(answer)
    for side, other in [*scopes, *((b, a) for a, b in scopes)]:
        if (
            any(w in asked for w in side)
            and not any(w in asked for w in other)
            and any(w in said for w in other)
            and not any(w in said for w in side)
        ):
            return True
    return False


def _headed(chunk: IndexedChunk, text: str) -> str:
    """Words of a passage with its document's title and section, which say what they are about."""
    return f"{chunk.title} {chunk.section} {text}"


def _whole(chunk: IndexedChunk) -> str:
    return _headed(chunk, chunk.text)


def _quoted_context(passages: Sequence[Passage], chosen: Sequence[Candidate]) -> str:
    """The chosen sentences with the titles and sections of their passages."""
    return " ".join(_headed(passages[c.passage_rank].chunk, c.text) for c in chosen)


def spelled_out(acronym: str, text: str) -> bool:
    """Whether a text writes an English acronym out in words (CD: Certificate of Deposit)."""
    if not acronym.isascii() or not acronym.isalpha() or not 2 <= len(acronym) <= 5:
        return False
    joiner = r"\W+(?:(?:of|and|the|for)\W+)?"
    pattern = r"\b" + joiner.join(f"{letter}[a-z]*" for letter in acronym) + r"\b"
    return re.search(pattern, text, re.IGNORECASE) is not None


def select(
    candidates: Sequence[Candidate], min_support: float, limits: AnswerLimits
) -> list[Candidate]:
    """The best sentence, plus close runners-up, within a short answer's length."""
    if not candidates or candidates[0].support < min_support:
        return []
    floor = max(min_support, 0.85 * candidates[0].support)
    chosen: list[Candidate] = []
    length = 0
    for candidate in candidates:
        if candidate.support < floor or len(chosen) == limits.sentences:
            break
        if any(candidate.text == c.text for c in chosen):
            continue
        if chosen and length + len(candidate.text) > limits.chars:
            continue
        chosen.append(candidate)
        length += len(candidate.text)
    # The most relevant source speaks first; within a source, sentences keep their order.
    source_order = {c.passage_rank: -c.support for c in reversed(chosen)}
    return sorted(chosen, key=lambda c: (source_order[c.passage_rank], c.position))


class ExtractiveComposer:
    """The grounded extractive composer: the best sentences of the passages, quoted and
    cited, or a decline when they do not answer the question."""

    name = "extractive"

    @staticmethod
    def prepared_texts(chunk: IndexedChunk) -> list[str]:
        return ranked_texts(chunk)

    def __init__(
        self,
        wording: ComposerWording,
        similarity: Similarity,
        min_support: float,
        limits: AnswerLimits,
        key_rarity: float = 0.5,
        glossary: Glossary | None = None,
    ) -> None:
        self.wording = wording
        self.similarity = similarity
        self.min_support = min_support
        self.limits = limits
        self.key_rarity = key_rarity
        glossary = glossary or Glossary()
        self.terms_of: TermsOf = glossary.terms_of
        self.scopes = glossary.opposed_scopes

    def generate(self, request: GenerationInput) -> Draft:
        chosen, reason = self.choose_why(request)
        if chosen and self.wording.wants_list(request.question):
            chunk = request.passages[chosen[0].passage_rank].chunk
            if items := list_of(chunk.text):
                return self._cite_list(request, chosen[0].passage_rank, items)
        if not chosen:
            decline = self.wording.decline[request.language]
            return Draft(
                text=localise(decline, request.language),
                grounded=False,
                quoted=True,
                decline_reason=reason,
            )
        return self._cite(request, chosen)

    def stream(self, request: GenerationInput) -> DraftStream:
        return streamed(self.generate(request), segments)

    def choose(self, request: GenerationInput) -> list[Candidate]:
        """The sentences that answer the question; none when any check finds the passages
        are about something else than what was asked."""
        return self.choose_why(request)[0]

    def choose_why(self, request: GenerationInput) -> tuple[list[Candidate], str | None]:
        """The chosen sentences, or none and the reason (a DECLINE_REASONS code)."""
        weight = request.term_weight
        candidates = rank_candidates(
            request.question, request.passages, weight, self.similarity, self.terms_of
        )
        supported = select(candidates, self.min_support, self.limits)
        chosen = [
            c
            for c in supported
            if offers_terms(request.question, _whole(request.passages[c.passage_rank].chunk))
        ]
        if supported and not chosen:
            return [], "term_not_offered"
        if not chosen or not _on_topic(request, chosen[0], weight, self.terms_of):
            return [], "no_evidence"
        rare = self.key_rarity * weight("\x00")  # rarer than this, a word names something specific
        if absent_subjects(
            request.question, request.passages, request.language, weight, rare, self.terms_of
        ):
            return [], "subject_absent"
        if not answers_amount(request.question, [c.text for c in chosen]):
            return [], "no_evidence"
        quoted = _quoted_context(request.passages, chosen)
        if crosses_scope(request.question, quoted, self.scopes):
            return [], "other_side_of_boundary"
        return chosen, None

    def evidence(self, request: GenerationInput, min_support: float, limit: int) -> list[int]:
        """The passages (by rank) another writer may answer from, best first: those with a
        sentence that supports the question at least min_support and that offer the terms
        it asks for. None when the question names something rare that no passage names (a
        currency, a year, a product). A writer that reads (a model) is left to judge what
        only quoting needs checked word by word: everyday nouns the corpus never uses."""
        weight = request.term_weight
        candidates = rank_candidates(
            request.question, request.passages, weight, self.similarity, self.terms_of
        )
        if not candidates:
            return []
        rare = self.key_rarity * weight("\x00")
        if absent_subjects(
            request.question, request.passages, request.language, weight, rare, self.terms_of
        ):
            return []
        best = {c.passage_rank: c.support for c in reversed(candidates)}
        ranked = sorted(best, key=lambda rank: -best[rank])
        return [
            rank
            for rank in ranked
            if best[rank] >= min_support
            and offers_terms(request.question, _whole(request.passages[rank].chunk))
        ][:limit]

    def _cite_list(self, request: GenerationInput, rank: int, items: list[str]) -> Draft:
        """The whole list of the passage that answers, as a Markdown list, cited once."""
        chunk = request.passages[rank].chunk
        intro = self.wording.answer_intro[request.language].format(title=chunk.title)
        body = "\n".join(items)
        return Draft(
            text=localise(f"{intro}\n{body}[1]", request.language),
            citations=[citation_of(1, chunk)],
            grounded=True,
            quoted=True,
        )

    def _cite(self, request: GenerationInput, chosen: list[Candidate]) -> Draft:
        """The chosen sentences, a paragraph per source document, each source cited as [n]."""
        citations: list[Citation] = []
        paragraphs: list[str] = []
        previous_doc = None
        for rank in dict.fromkeys(c.passage_rank for c in chosen):
            chunk = request.passages[rank].chunk
            citations.append(citation_of(len(citations) + 1, chunk))
            quoted = _join_quotes([c.text for c in chosen if c.passage_rank == rank])
            quoted += f"[{len(citations)}]"
            if chunk.doc_id == previous_doc:
                # A second passage of the same document continues its paragraph.
                paragraphs[-1] = _join_quotes([paragraphs[-1], quoted])
            else:
                intro = self.wording.answer_intro[request.language].format(title=chunk.title)
                paragraphs.append(intro + quoted)
            previous_doc = chunk.doc_id
        return Draft(
            text=localise("\n".join(paragraphs), request.language),
            citations=citations,
            grounded=True,
            support=max(c.support for c in chosen),
            quoted=True,
        )


def _on_topic(
    request: GenerationInput, best: Candidate, weight: TermWeight, terms_of: TermsOf
) -> bool:
    """The best sentence, with its title and section, names every anchor of the question.
    Across languages words cannot be compared, so the support score alone decides."""
    chunk = request.passages[best.passage_rank].chunk
    if (chunk.language == "en") != (request.language == "en"):
        return True
    text = fold(_headed(chunk, best.text))
    terms = terms_of(text)
    unknown = weight("\x00")  # the weight of a word the corpus never uses
    return all(
        covers(a, terms) or abbreviated(a, text) for a in anchors(request.question, weight, unknown)
    )


def extractive_composer(context: GeneratorContext) -> ExtractiveComposer:
    """The embedded default generator."""
    embedder = context.embedder

    def similarity(question: str, texts: Sequence[str]) -> Sequence[float]:
        scores: Sequence[float] = embedder.embed_passages(texts) @ embedder.embed_query(question)
        return scores

    return ExtractiveComposer(
        ComposerWording.load(context.prompts_dir),
        similarity,
        context.min_answer_support,
        AnswerLimits(context.answer_max_sentences, context.answer_max_chars),
        context.key_term_rarity,
        context.glossary,
    )


generators.register("extractive")(extractive_composer)


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


def localise(text: str, language: Language) -> str:
    """A Traditional Chinese question gets its answer in Traditional characters."""
    return _to_traditional().convert(text) if language == "zh-TW" else text
