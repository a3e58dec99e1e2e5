"""The output rails: a draft is read sentence by sentence, through the rails in the order
output.yaml lists them; a sentence that promises returns, uses banned superlatives, states a
figure its sources do not contain, or repeats staff-only text to a customer is removed; a
reply about an investment product gets its risk level and warning; if nothing useful is
left, the safe answer replaces it. Every verdict names the rule, its basis, and what was
done."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from pypinyin import lazy_pinyin

from assistant.guard.figures import MARKER, SourceFigures
from assistant.guard.normalize import screening_text
from assistant.guard.policy import OUTPUT_FLAGS, OutputPolicy, OutputRule
from assistant.guard.semantic import SemanticRail
from assistant.guard.verdicts import GuardResult, Verdict, localised, worst
from assistant.text import Language, detect_language, fold, segments, tokenize

_NON_TEXT = re.compile(r"[\s\W_]+", re.UNICODE)
# Where a clause ends; an enumeration (不保本、保息) stays one clause.
_CLAUSE_START = re.compile(r"[,;:!?，；：。！？]|\s[-–—]\s")
_PHRASE = 6

_QUOTED = re.compile(r"[“‘\"'「『][^“”‘’\"'「」『』]{1,40}[”’\"'」』]")


def _quoted_under_prohibition(
    sentence: str, match: re.Match[str], prohibition: re.Pattern[str]
) -> bool:
    """'不得说“保本”“稳赚”': a quoted claim after a prohibition is being forbidden, not made."""
    for quote in _QUOTED.finditer(sentence):
        if quote.start() <= match.start() < quote.end():
            return bool(prohibition.search(sentence[: quote.start()]))
    return False


def shingles(text: str, size: int) -> set[str]:
    compact = _NON_TEXT.sub("", fold(text))
    return {compact[i : i + size] for i in range(max(len(compact) - size + 1, 0))}


@dataclass(frozen=True)
class SourceDocument:
    """What the output guard needs to know about a document a reply may cite."""

    doc_id: str
    text: str
    audience: str
    category: str | None = None
    risk_level: str | None = None


class KnowledgeView:
    """The staff/public split of the knowledge base, for spotting staff text in replies."""

    def __init__(
        self, documents: Sequence[SourceDocument], shingle: int, topics: Sequence[str] = ()
    ) -> None:
        self.documents = {d.doc_id: d for d in documents}
        self._topics = [re.compile(p, re.IGNORECASE) for p in topics]
        staff = [d.text for d in documents if d.audience == "staff"]
        public = [d.text for d in documents if d.audience != "staff"]
        self._shingle = shingle
        public_shingles = set().union(*(shingles(t, shingle) for t in public)) if public else set()
        staff_shingles = set().union(*(shingles(t, shingle) for t in staff)) if staff else set()
        self.staff_shingles = frozenset(staff_shingles - public_shingles)
        self._public_phrases = frozenset().union(*(shingles(t, _PHRASE) for t in public))
        public_terms = {t for text in public for t in tokenize(text)}
        self.staff_terms = frozenset(
            t
            for text in staff
            for t in tokenize(text)
            if t not in public_terms and len(t) > 1 and not any(ch.isdigit() for ch in t)
        )

    def public_share(self, sentence: str) -> float:
        """How much of a sentence, in short phrases, public documents also say: a staff rule
        that is published elsewhere in other words is not a secret."""
        phrases = shingles(sentence, _PHRASE)
        return len(phrases & self._public_phrases) / len(phrases) if phrases else 1.0

    def staff_overlap(self, sentence: str, min_terms: int) -> str | None:
        """The staff-only text a sentence repeats, if it repeats any."""
        hit = next((s for s in shingles(sentence, self._shingle) if s in self.staff_shingles), None)
        if hit and self.public_share(sentence) < 0.5:
            return hit
        folded = screening_text(sentence)
        topic = next((m.group() for p in self._topics if (m := p.search(folded))), None)
        if topic:
            return topic
        terms = sorted(set(tokenize(sentence)) & self.staff_terms)
        return "、".join(terms) if len(terms) >= min_terms else None


class OutputGuard:
    def __init__(self, policy: OutputPolicy, semantic: SemanticRail | None = None) -> None:
        self.policy = policy
        # Claims by meaning, beside the patterns; None: patterns only.
        self._semantic = semantic
        flags = OUTPUT_FLAGS
        self._claims = {
            family: [re.compile(p, flags) for p in policy.rule(family).patterns]
            for family in ("promised_return", "superlative")
        }
        disclosure = policy.rule("missing_disclosure")
        self._mentions = re.compile(disclosure.mentions or r"(?!)", flags)
        self._investment_words = re.compile(disclosure.investment_words or r"(?!)", flags)
        self._required = {lang: re.compile(p, flags) for lang, p in disclosure.required.items()}
        self._prohibition = re.compile(policy.negation.prohibition, flags)
        self._warned_against = re.compile(policy.negation.warned_against, flags)
        self._allowed_figures = set(policy.allowed_figures)

    @cached_property
    def _negators_en(self) -> re.Pattern[str]:
        words = "|".join(
            re.escape(w) for w in sorted(self.policy.negation.en, key=len, reverse=True)
        )
        return re.compile(rf"\b(?:{words})\b", re.IGNORECASE)

    def _negated(self, sentence: str, match: re.Match[str]) -> bool:
        negation = self.policy.negation
        if _quoted_under_prohibition(sentence, match, self._prohibition):
            return True
        if self._warned_against.search(sentence, match.end()):
            return True
        # A negation reaches no further back than its own clause: in "Don't worry, your
        # returns are guaranteed" the don't is over before the claim begins.
        clause = _CLAUSE_START.split(sentence[: match.start()])[-1]
        if re.search(r"[A-Za-z]", match.group()):
            before = " ".join(clause.split()[-negation.window_en :])
            inside = " ".join(match.group().split()[1:])  # "returns are NOT guaranteed"
            return bool(self._negators_en.search(before) or self._negators_en.search(inside))
        before = clause[-negation.window_zh :]
        for word in negation.not_negation:
            before = before.replace(word, "")
        return any(word in before for word in negation.zh)

    def _meant(self, family: str, sentence: str) -> str | None:
        """The sentence, when its meaning is the claim a rule forbids. A sentence that says
        "not" is left to the patterns: an embedding reads 不保本 much as it reads 保本."""
        if self._semantic is None or not self.asks_meaning(sentence):
            return None
        if self._semantic.breaks(sentence) != family:
            return None
        return MARKER.sub("", sentence).strip()

    def asks_meaning(self, sentence: str) -> bool:
        """Whether the classifier is asked about a sentence: not when it says "not"."""
        return not self._says_not(screening_text(sentence))

    def _says_not(self, folded: str) -> bool:
        return bool(self._negators_en.search(folded)) or any(
            word in folded for word in self.policy.negation.zh
        )

    @cached_property
    def _pinyin(self) -> dict[str, str]:
        """Claim words by their pinyin without tones or spaces: baoben -> 保本."""
        return {"".join(lazy_pinyin(word)): word for word in self.policy.pinyin_words}

    def _with_pinyin_read(self, folded: str) -> str:
        letters = re.sub(r"[^a-z]", "", folded)
        spelled = [word for key, word in self._pinyin.items() if key in letters]
        return " ".join([folded, *spelled])

    def _claim(self, family: str, sentence: str) -> str | None:
        folded = self._with_pinyin_read(screening_text(sentence))
        for pattern in self._claims[family]:
            for match in pattern.finditer(folded):
                if not self._negated(folded, match):
                    return match.group()
        return None

    def review_sentence(
        self, sentence: str, source_figures: SourceFigures, role: str, view: KnowledgeView | None
    ) -> list[tuple[OutputRule, str]]:
        """The rules a single sentence breaks, each with the words that broke it, in the
        order of the policy's rails."""
        broken: list[tuple[OutputRule, str]] = []
        for family in self.policy.rails:
            words = self._breach(family, sentence, source_figures, role, view)
            if words:
                broken.append((self.policy.rule(family), words))
        return broken

    def _breach(
        self,
        family: str,
        sentence: str,
        source_figures: SourceFigures,
        role: str,
        view: KnowledgeView | None,
    ) -> str | None:
        """The words by which a sentence breaks the rule of one family, if it does."""
        match family:
            case "promised_return" | "superlative":
                return self._claim(family, sentence) or self._meant(family, sentence)
            case "untraceable_figure":
                untraceable = source_figures.untraceable(sentence, self._allowed_figures)
                return ", ".join(untraceable) or None
            case "staff_content" if role == "customer" and view is not None:
                return view.staff_overlap(sentence, self.policy.rule(family).staff_terms or 2)
        return None

    def review_stream(
        self,
        pieces: Iterable[str],
        sources: Sequence[SourceDocument],
        role: str,
        language: Language,
        view: KnowledgeView | None = None,
        verdicts: list[Verdict] | None = None,
    ) -> Iterator[str]:
        """Release a reply sentence by sentence, each only after it passed the rails; the
        risk warning follows where one is owed. Verdicts are appended to `verdicts`."""
        verdicts = verdicts if verdicts is not None else []
        source_figures = _figures_of(sources)
        released: list[str] = []
        buffer = ""
        for piece in pieces:
            buffer += piece
            done = segments(buffer)
            # The last segment may still be growing; hold it until more text or the end.
            for sentence in done[:-1]:
                if self._pass(sentence, source_figures, role, view, verdicts):
                    released.append(sentence)
                    yield sentence
            buffer = done[-1] if done else ""
        if buffer.strip() and self._pass(buffer, source_figures, role, view, verdicts):
            released.append(buffer)
            yield buffer
        disclosure = self._disclosure("".join(released), sources, language, verdicts)
        if disclosure:
            yield disclosure

    def _pass(
        self,
        sentence: str,
        source_figures: SourceFigures,
        role: str,
        view: KnowledgeView | None,
        verdicts: list[Verdict],
    ) -> bool:
        broken = self.review_sentence(sentence, source_figures, role, view)
        language = detect_language(sentence)
        for rule, words in broken:
            verdicts.append(
                Verdict(rule.id, rule.action, localised(rule.message, language), rule.basis, words)
            )
        return not broken

    def _disclosure(
        self,
        reply: str,
        sources: Sequence[SourceDocument],
        language: Language,
        verdicts: list[Verdict],
    ) -> str | None:
        rule = self.policy.rule("missing_disclosure")
        investments = [
            s for s in sources if s.category in rule.categories or (s.risk_level or "R1") > "R1"
        ]
        # Cited sources decide; an uncited reply is judged by the words it uses, and so is
        # one citing a list that holds investment products beside savings.
        mixed = any(s.category in rule.mixed_categories for s in sources)
        mentions = (not sources and self._mentions.search(reply)) or (
            mixed and self._investment_words.search(reply)
        )
        if not reply.strip() or not (investments or mentions):
            return None
        levels = sorted({s.risk_level for s in investments if s.risk_level})
        warned = self._required["en" if language == "en" else "zh-CN"].search(fold(reply))
        level_named = not levels or all(level in reply for level in levels)
        if warned and level_named:
            return None
        risk = (
            localised(rule.risk_level, language).format(level="/".join(levels))
            if levels and not level_named
            else ""
        )
        verdicts.append(
            Verdict(rule.id, rule.action, localised(rule.message, language), rule.basis)
        )
        text = localised(rule.disclosure, language).format(risk=risk)
        if warned:  # only the risk level was missing
            text = risk.strip()
        return "\n" + text

    def redacted(self, passage: str, role: str, view: KnowledgeView | None) -> str:
        """A cited passage as a reader in `role` may receive it: for a customer, without the
        sentences that repeat staff-only text (a staff rule pasted into a public sheet)."""
        if role != "customer" or view is None:
            return passage
        rule = self.policy.rule("staff_content")
        kept = [s for s in segments(passage) if not view.staff_overlap(s, rule.staff_terms or 2)]
        return "".join(kept).strip()

    def safe_answer(self, language: Language) -> str:
        return localised(self.policy.safe_answer, language)

    def inspect(
        self,
        draft: str,
        sources: Sequence[SourceDocument],
        role: str,
        language: Language | None = None,
        view: KnowledgeView | None = None,
    ) -> GuardResult:
        """Check a whole draft: what streaming would release, as one text."""
        language = language or detect_language(draft)
        verdicts: list[Verdict] = []
        source_figures = _figures_of(sources)
        body = "".join(
            s for s in segments(draft) if self._pass(s, source_figures, role, view, verdicts)
        ).strip()
        if verdicts and says_nothing(body):
            return GuardResult("block", self.safe_answer(language), verdicts)
        disclosure = self._disclosure(body, sources, language, verdicts)
        if not verdicts:
            return GuardResult("allow", draft, [])
        return GuardResult(worst(verdicts), body + (disclosure or ""), verdicts)


def says_nothing(reply: str) -> bool:
    """Nothing but citation markers and punctuation is left of a reply."""
    return not re.search(r"\w", MARKER.sub("", reply))


def _figures_of(sources: Sequence[SourceDocument]) -> SourceFigures:
    return SourceFigures.of(s.text for s in sources)
