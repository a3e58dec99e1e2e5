"""The compliance guardrail: the policy in guardrails/*.yaml applied to every message and
every reply draft.

Input, in the order input.yaml lists its rails: personal data is masked (always first), prompt
injection is refused, requests for a person are handed off, and off-topic requests redirected.
Output: a draft is read sentence by sentence, through the rails in the order output.yaml lists
them; a sentence that promises returns, uses banned superlatives, states a figure its sources
do not contain, or repeats staff-only text to a customer is removed; a reply about an
investment product gets its risk level and warning; if nothing useful is left, the safe
answer replaces it. Every verdict names the rule, its basis, and what was done.

A policy is checked when it loads: an unknown family or rail, a missing language or a pattern
that does not compile is a PolicyError naming the file and the rule, not a failure mid-reply.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict

from assistant.errors import ConfigurationError
from assistant.pii import find_pii, mask
from assistant.text import Language, detect_language, fold, to_simplified, tokenize

Action = Literal["allow", "mask", "rewrite", "block", "handoff"]
_SEVERITY: dict[str, int] = {"allow": 0, "mask": 1, "rewrite": 2, "handoff": 3, "block": 4}
# Every user-facing text of a policy is written in each of these.
_LANGUAGES: tuple[str, ...] = get_args(Language)
_INPUT_RAILS = ("pii", "injection", "handoff", "off_topic")
# The output families checked sentence by sentence; missing_disclosure reads the whole reply.
_SENTENCE_FAMILIES = ("promised_return", "superlative", "untraceable_figure", "staff_content")
_FAMILIES = (*_SENTENCE_FAMILIES, "missing_disclosure")
_INPUT_FLAGS = re.IGNORECASE | re.DOTALL
_OUTPUT_FLAGS = re.IGNORECASE


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PiiRule(_Strict):
    id: str
    validator: Literal["cn_resident_id", "bank_card", "cn_mobile", "cn_landline", "email"]
    mask: str


class PiiPolicy(_Strict):
    basis: str
    message: dict[str, str]
    lead_in: str
    rules: list[PiiRule]


class Indicator(_Strict):
    weight: int
    pattern: str


class InjectionPolicy(_Strict):
    id: str
    action: Literal["block"]
    basis: str
    message: dict[str, str]
    threshold: int
    indicators: list[Indicator]


class PatternRule(_Strict):
    id: str
    action: Literal["block", "handoff"]
    basis: str
    message: dict[str, str]
    patterns: list[str]


class HandoffRule(PatternRule):
    # What a hand-off is recorded as: the first kind whose pattern the request matches.
    kinds: dict[str, str]
    default_kind: str


class InputPolicy(_Strict):
    version: int
    rails: list[str]
    pii: PiiPolicy
    injection: InjectionPolicy
    handoff: HandoffRule
    off_topic: PatternRule


class Negation(_Strict):
    window_zh: int
    window_en: int
    zh: list[str]
    en: list[str]
    not_negation: list[str]
    prohibition: str


class OutputRule(_Strict):
    id: str
    family: str
    action: Literal["rewrite", "block"]
    basis: str
    message: dict[str, str]
    patterns: list[str] = []
    shingle: int | None = None
    staff_terms: int | None = None
    topics: list[str] = []
    categories: list[str] = []
    mentions: str | None = None
    required: dict[str, str] = {}
    disclosure: dict[str, str] = {}
    risk_level: dict[str, str] = {}


class OutputPolicy(_Strict):
    version: int
    rails: list[str]
    safe_answer: dict[str, str]
    allowed_figures: list[str]
    negation: Negation
    rules: list[OutputRule]

    def rule(self, family: str) -> OutputRule:
        return self._by_family[family]

    @cached_property
    def _by_family(self) -> dict[str, OutputRule]:
        # Loading checked that every family has exactly one rule, so a lookup cannot miss.
        return {r.family: r for r in self.rules}


class PolicyError(ConfigurationError):
    """A guardrail policy file is missing or malformed; the message names the file, the rule
    and what to fix."""


def load_policy(directory: Path) -> tuple[InputPolicy, OutputPolicy]:
    return (
        _read(directory / "input.yaml", InputPolicy, _input_problems),
        _read(directory / "output.yaml", OutputPolicy, _output_problems),
    )


_Policy = TypeVar("_Policy", InputPolicy, OutputPolicy)


def _read(
    path: Path, model: type[_Policy], problems: Callable[[_Policy], Iterator[str]]
) -> _Policy:
    try:
        policy = model.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValueError) as error:
        raise PolicyError(f"{path}: {error}") from None
    # The schema only knows shapes; what would otherwise fail mid-reply is refused here.
    found = list(problems(policy))
    if found:
        raise PolicyError("\n".join(f"{path}: {problem}" for problem in found))
    return policy


def _input_problems(policy: InputPolicy) -> Iterator[str]:
    yield from _rail_problems(policy.rails, _INPUT_RAILS)
    if policy.rails and policy.rails[0] != "pii":
        yield (
            f"rails: the first rail is {policy.rails[0]}; put pii first, so that personal data "
            "is masked before any other rail reads the message"
        )
    pii = policy.pii
    yield from _untranslated("pii: message", pii.message)
    yield from _uncompiled("pii: lead_in", pii.lead_in, re.IGNORECASE)
    injection = policy.injection
    yield from _untranslated(f"rule {injection.id}: message", injection.message)
    for n, indicator in enumerate(injection.indicators, 1):
        where = f"rule {injection.id}: indicator {n}"
        yield from _uncompiled(where, indicator.pattern, _INPUT_FLAGS)
    for rule in (policy.handoff, policy.off_topic):
        yield from _untranslated(f"rule {rule.id}: message", rule.message)
        yield from _uncompiled_all(f"rule {rule.id}: pattern", rule.patterns, _INPUT_FLAGS)
    for kind, pattern in policy.handoff.kinds.items():
        yield from _uncompiled(f"rule {policy.handoff.id}: kind {kind}", pattern, _INPUT_FLAGS)


def _output_problems(policy: OutputPolicy) -> Iterator[str]:
    yield from _rail_problems(policy.rails, _SENTENCE_FAMILIES)
    yield from _untranslated("safe_answer", policy.safe_answer)
    yield from _uncompiled("negation: prohibition", policy.negation.prohibition, _OUTPUT_FLAGS)
    owner: dict[str, str] = {}
    for rule in policy.rules:
        if rule.family not in _FAMILIES:
            yield (
                f"rule {rule.id}: unknown family {rule.family!r}; use one of {', '.join(_FAMILIES)}"
            )
        elif rule.family in owner:
            yield (
                f"rule {rule.id}: family {rule.family} already has rule {owner[rule.family]}; "
                "keep one rule per family"
            )
        owner.setdefault(rule.family, rule.id)
        yield from _rule_problems(rule)
    for family in _FAMILIES:
        if family not in owner:
            yield f"no rule has family {family}; add one (every family is required)"


def _rule_problems(rule: OutputRule) -> Iterator[str]:
    where = f"rule {rule.id}"
    yield from _untranslated(f"{where}: message", rule.message)
    yield from _uncompiled_all(f"{where}: pattern", rule.patterns, _OUTPUT_FLAGS)
    yield from _uncompiled_all(f"{where}: topic", rule.topics, _OUTPUT_FLAGS)
    if rule.mentions is not None:
        yield from _uncompiled(f"{where}: mentions", rule.mentions, _OUTPUT_FLAGS)
    for language, pattern in rule.required.items():
        yield from _uncompiled(f"{where}: required {language}", pattern, _OUTPUT_FLAGS)
    if rule.family == "missing_disclosure":
        yield from _untranslated(f"{where}: disclosure", rule.disclosure)
        yield from _untranslated(f"{where}: risk_level", rule.risk_level)
        # A Traditional Chinese reply is folded to Simplified before the warning is looked for.
        for language in ("zh-CN", "en"):
            if language not in rule.required:
                yield f"{where}: required has no {language} pattern; add required.{language}"


def _rail_problems(rails: list[str], known: Sequence[str]) -> Iterator[str]:
    """The rails are an order, not a switch: each known rail exactly once."""
    for rail in dict.fromkeys(rails):
        if rail not in known:
            yield f"rails: unknown rail {rail!r}; the rails are {', '.join(known)}"
        elif rails.count(rail) > 1:
            yield f"rails: {rail} is listed {rails.count(rail)} times; list it once"
    for rail in known:
        if rail not in rails:
            yield f"rails: {rail} is missing; list every rail once, in the order to check them"


def _untranslated(where: str, messages: dict[str, str]) -> Iterator[str]:
    for language in _LANGUAGES:
        if not messages.get(language, "").strip():
            yield f"{where} has no {language} text; add a {language} entry"


def _uncompiled(where: str, pattern: str, flags: int) -> Iterator[str]:
    try:
        re.compile(pattern, flags)
    except re.error as error:
        yield f"{where} does not compile ({error})"


def _uncompiled_all(where: str, patterns: list[str], flags: int) -> Iterator[str]:
    """Patterns are numbered from 1, as a reader counts them in the file."""
    for n, pattern in enumerate(patterns, 1):
        yield from _uncompiled(f"{where} {n}", pattern, flags)


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


def most_severe(actions: Iterable[Action]) -> Action:
    return max(actions, key=_SEVERITY.__getitem__, default="allow")


def _worst(verdicts: Iterable[Verdict]) -> Action:
    return most_severe(f.action for f in verdicts)


def _message(messages: dict[str, str], language: Language) -> str:
    return messages.get(language) or messages["zh-CN"]


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


# Full-width ASCII to half-width, one character for one, so spans found in the folded text
# are spans of the original message.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


# --------------------------------------------------------------------------- input


class InputGuard:
    def __init__(self, policy: InputPolicy) -> None:
        self.policy = policy
        flags = _INPUT_FLAGS
        self._indicators = [
            (i.weight, re.compile(i.pattern, flags)) for i in policy.injection.indicators
        ]
        self._handoff = [re.compile(p, flags) for p in policy.handoff.patterns]
        self._off_topic = [re.compile(p, flags) for p in policy.off_topic.patterns]
        self._handoff_kinds = {
            kind: re.compile(p, flags) for kind, p in policy.handoff.kinds.items()
        }
        self._pii_kinds = [r.validator for r in policy.pii.rules]
        self._pii_rules: dict[str, PiiRule] = {r.validator: r for r in policy.pii.rules}
        self._masks_with_lead_in = [
            re.compile(policy.pii.lead_in + re.escape(r.mask), re.IGNORECASE)
            for r in policy.pii.rules
        ]
        self._screens: dict[str, Callable[[str, Language], Verdict | None]] = {
            "injection": self._injection,
            "handoff": partial(self._first_hit, policy.handoff, self._handoff),
            "off_topic": partial(self._first_hit, policy.off_topic, self._off_topic),
        }

    def without_masks(self, text: str) -> str:
        """The masked message with the mask labels removed, so that "[银行卡号]" does not
        steer retrieval towards card documents; a lead-in that only introduced the data
        ("我的手机号是", "my phone number is") goes with it."""
        for pattern in self._masks_with_lead_in:
            text = pattern.sub(" ", text)
        return " ".join(text.split())

    def handoff_kind(self, request: str) -> str:
        """complaint, agent, ...: what the hand-off a request asked for is recorded as."""
        folded = request.translate(_HALF_WIDTH)
        return next(
            (kind for kind, p in self._handoff_kinds.items() if p.search(folded)),
            self.policy.handoff.default_kind,
        )

    def injection_score(self, text: str) -> int:
        return sum(weight for weight, pattern in self._indicators if pattern.search(text))

    def inspect(self, message: str, language: Language | None = None) -> Screened:
        """The rails in the policy's order. pii is the one rail that changes the message, and
        loading put it first, so every other rail reads the masked text; the first of those
        that matches decides (a refusal or a hand-off) and ends the screening."""
        language = language or detect_language(message)
        text = message
        verdicts: list[Verdict] = []
        for rail in self.policy.rails:
            if rail == "pii":
                text, verdicts = self._mask(text, language)
                continue
            finding = self._screens[rail](text.translate(_HALF_WIDTH), language)
            if finding:
                return self._screened(finding.action, text, [*verdicts, finding])
        return self._screened(_worst(verdicts), text, verdicts)

    def _screened(self, action: Action, text: str, verdicts: list[Verdict]) -> Screened:
        kind = None
        if action == "handoff":
            kind = self.handoff_kind(" ".join(v.excerpt for v in verdicts))
        return Screened(action, text, verdicts, self.without_masks(text), kind)

    def _mask(self, message: str, language: Language) -> tuple[str, list[Verdict]]:
        """The message with its personal data masked, and one finding per kind masked."""
        matches = find_pii(message.translate(_HALF_WIDTH), self._pii_kinds)
        if not matches:
            return message, []
        pii = self.policy.pii
        labels = {kind: rule.mask for kind, rule in self._pii_rules.items()}
        verdicts = [
            Verdict(self._pii_rules[kind].id, "mask", _message(pii.message, language), pii.basis)
            for kind in dict.fromkeys(m.kind for m in matches)
        ]
        return mask(message, matches, labels), verdicts

    def _injection(self, folded: str, language: Language) -> Verdict | None:
        injection = self.policy.injection
        if self.injection_score(folded) < injection.threshold:
            return None
        return Verdict(
            injection.id, injection.action, _message(injection.message, language), injection.basis
        )

    @staticmethod
    def _first_hit(
        rule: PatternRule, patterns: list[re.Pattern[str]], folded: str, language: Language
    ) -> Verdict | None:
        hit = next((m for p in patterns if (m := p.search(folded))), None)
        if not hit:
            return None
        return Verdict(
            rule.id, rule.action, _message(rule.message, language), rule.basis, hit.group()
        )


# --------------------------------------------------------------------------- output

# A sentence ends at Chinese punctuation, or at a full stop before a capital ("No. 1" is
# not an ending), and keeps its citation markers.
_SEGMENT = re.compile(
    r".+?(?:[。！？!?；;]+|\.(?=\s+[A-Z\u4e00-\u9fff]|\s*$)|\n|$)(?:\[\d+\])*\s*", re.DOTALL
)
_MARKER = re.compile(r"\[\d+\]")
_NON_TEXT = re.compile(r"[\s\W_]+", re.UNICODE)
_PHRASE = 6
_CLAUSE = re.compile(r"[，；;。！？!?\n]|,(?!\d)")
# A number, with a currency before it or a unit after it. Digits glued to Latin letters
# (R2, C3, T+1) are names, not figures.
_FIGURE = re.compile(
    r"(?:(?P<currency>CNY|RMB|USD|¥|￥)\s?)?(?<![A-Za-z0-9.+])"
    r"(?P<number>\d{1,3}(?:,\d{3})+|\d+)(?P<fraction>\.\d+)?\s*"
    r"(?P<unit>%|％|个百分点|百分点|万元|万|亿元|亿|千元|元|yuan|个工作日|工作日|working days?"
    r"|个自然日|自然日|个交易日|交易日|trading days?|天|日|days?|个月|months?|月|年|years?"
    r"|次|times|小时|hours?|克|grams?|g\b|岁|years? old|个基点|基点|basis points?|bp)?",
    re.IGNORECASE,
)
_UNIT_CLASS = {
    "%": "%",
    "％": "%",
    "个百分点": "%",
    "百分点": "%",
    "元": "money",
    "yuan": "money",
    "千元": "money",
    "万元": "money",
    "万": "money",
    "亿元": "money",
    "亿": "money",
    "个工作日": "workday",
    "工作日": "workday",
    "working day": "workday",
    "working days": "workday",
    "个交易日": "tradingday",
    "交易日": "tradingday",
    "trading day": "tradingday",
    "trading days": "tradingday",
    "个自然日": "day",
    "自然日": "day",
    "天": "day",
    "日": "day",
    "day": "day",
    "days": "day",
    "个月": "month",
    "月": "month",
    "month": "month",
    "months": "month",
    "年": "year",
    "year": "year",
    "years": "year",
    "次": "times",
    "times": "times",
    "小时": "hour",
    "hour": "hour",
    "hours": "hour",
    "克": "gram",
    "gram": "gram",
    "grams": "gram",
    "g": "gram",
    "岁": "age",
    "year old": "age",
    "years old": "age",
    "个基点": "bp",
    "基点": "bp",
    "basis point": "bp",
    "basis points": "bp",
    "bp": "bp",
}
_SCALE = {"万元": 10_000, "万": 10_000, "亿元": 100_000_000, "亿": 100_000_000, "千元": 1_000}
_TERM_UNITS = ("year", "month", "day")
_TERM_REACH = 12  # characters between a term and the rate it qualifies


_QUOTED = re.compile(r"[“‘\"'「『][^“”‘’\"'「」『』]{1,40}[”’\"'」』]")


def _quoted_under_prohibition(
    sentence: str, match: re.Match[str], prohibition: re.Pattern[str]
) -> bool:
    """'不得说“保本”“稳赚”': a quoted claim after a prohibition is being forbidden, not made."""
    for quote in _QUOTED.finditer(sentence):
        if quote.start() <= match.start() < quote.end():
            return bool(prohibition.search(sentence[: quote.start()]))
    return False


def segments(text: str) -> list[str]:
    """Sentences with their citation markers attached ("…20万元。[1]")."""
    return [m.group() for m in _SEGMENT.finditer(text) if m.group().strip()]


Figure = tuple[str, str]  # (canonical value, unit class); 20万元 and CNY 200,000 are equal


def figures(text: str) -> list[Figure]:
    """The figures of a text in order. Citation markers and risk levels (R2, C3) are not
    figures; 1.90% and 1.9% are the same figure."""
    return [figure for _, figure in figures_at(text)]


def figures_at(text: str) -> list[tuple[int, Figure]]:
    found: list[tuple[int, Figure]] = []
    for m in _FIGURE.finditer(_MARKER.sub(" ", to_simplified(_normalise(text)))):
        value = float(m.group("number").replace(",", "") + (m.group("fraction") or ""))
        unit = (m.group("unit") or "").lower()
        value *= _SCALE.get(unit, 1)
        unit_class = _UNIT_CLASS.get(unit, "money" if m.group("currency") else "")
        found.append((m.start(), (f"{value:g}", unit_class)))
    return found


@dataclass(frozen=True)
class SourceFigures:
    """Every figure of the cited sources, and the terms their rates are quoted for."""

    pairs: frozenset[Figure]
    values: frozenset[str]
    rate_terms: dict[Figure, frozenset[Figure]]

    @classmethod
    def of(cls, texts: Iterable[str]) -> SourceFigures:
        pairs: set[Figure] = set()
        rate_terms: dict[Figure, set[Figure]] = {}
        for text in texts:
            for clause in _CLAUSE.split(text):
                found = figures_at(clause)
                pairs.update(figure for _, figure in found)
                for position, figure in found:
                    term = _nearest_term(position, found) if figure[1] == "%" else None
                    if term:
                        rate_terms.setdefault(figure, set()).add(term)
        return cls(
            frozenset(pairs),
            frozenset(v for v, _ in pairs),
            {rate: frozenset(terms) for rate, terms in rate_terms.items()},
        )

    def untraceable(self, sentence: str, allowed: set[str]) -> list[str]:
        """Figures of a sentence that no source states, including a rate quoted for the
        wrong term (the 3-year rate given as the 1-year one)."""
        missing = []
        for clause in _CLAUSE.split(sentence):
            found = figures_at(clause)
            for position, (value, unit) in found:
                if value in allowed:
                    continue
                # A bare number in a source ("200,000 or 210,000") vouches for any unit.
                known = (
                    value in self.values
                    if not unit
                    else bool({(value, unit), (value, "")} & self.pairs)
                )
                if not known:
                    missing.append(value + (unit and f" {unit}"))
                    continue
                term = _nearest_term(position, found) if unit == "%" else None
                quoted_for = self.rate_terms.get((value, unit))
                if term and quoted_for and term not in quoted_for:
                    missing.append(f"{value}% for {term[0]} {term[1]}")
        return missing


def _nearest_term(position: int, found: list[tuple[int, Figure]]) -> Figure | None:
    """The term (年, 个月, days) closest to a rate in the same clause: "3年期 1.90%",
    "1.90% for 3 years"."""
    terms = [
        (abs(at - position), figure)
        for at, figure in found
        if figure[1] in _TERM_UNITS and abs(at - position) <= _TERM_REACH
    ]
    return min(terms)[1] if terms else None


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
        folded = fold(sentence)
        topic = next((m.group() for p in self._topics if (m := p.search(folded))), None)
        if topic:
            return topic
        terms = sorted(set(tokenize(sentence)) & self.staff_terms)
        return "、".join(terms) if len(terms) >= min_terms else None


class OutputGuard:
    def __init__(self, policy: OutputPolicy) -> None:
        self.policy = policy
        flags = _OUTPUT_FLAGS
        self._claims = {
            family: [re.compile(p, flags) for p in policy.rule(family).patterns]
            for family in ("promised_return", "superlative")
        }
        disclosure = policy.rule("missing_disclosure")
        self._mentions = re.compile(disclosure.mentions or r"(?!)", flags)
        self._required = {lang: re.compile(p, flags) for lang, p in disclosure.required.items()}
        self._prohibition = re.compile(policy.negation.prohibition, flags)
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
        if re.search(r"[A-Za-z]", match.group()):
            before = " ".join(sentence[: match.start()].split()[-negation.window_en :])
            inside = " ".join(match.group().split()[1:])  # "returns are NOT guaranteed"
            return bool(self._negators_en.search(before) or self._negators_en.search(inside))
        before = sentence[max(0, match.start() - negation.window_zh) : match.start()]
        for word in negation.not_negation:
            before = before.replace(word, "")
        return any(word in before for word in negation.zh)

    def _claim(self, family: str, sentence: str) -> str | None:
        folded = fold(sentence)
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
                return self._claim(family, sentence)
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
                Verdict(rule.id, rule.action, _message(rule.message, language), rule.basis, words)
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
        # Cited sources decide; only an uncited reply is judged by the words it uses.
        mentions = not sources and self._mentions.search(reply)
        if not reply.strip() or not (investments or mentions):
            return None
        levels = sorted({s.risk_level for s in investments if s.risk_level})
        warned = self._required["en" if language == "en" else "zh-CN"].search(fold(reply))
        level_named = not levels or all(level in reply for level in levels)
        if warned and level_named:
            return None
        risk = (
            _message(rule.risk_level, language).format(level="/".join(levels))
            if levels and not level_named
            else ""
        )
        verdicts.append(Verdict(rule.id, rule.action, _message(rule.message, language), rule.basis))
        text = _message(rule.disclosure, language).format(risk=risk)
        if warned:  # only the risk level was missing
            text = risk.strip()
        return "\n" + text

    def safe_answer(self, language: Language) -> str:
        return _message(self.policy.safe_answer, language)

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
        return GuardResult(_worst(verdicts), body + (disclosure or ""), verdicts)


def says_nothing(reply: str) -> bool:
    """Nothing but citation markers and punctuation is left of a reply."""
    return not re.search(r"\w", _MARKER.sub("", reply))


def _figures_of(sources: Sequence[SourceDocument]) -> SourceFigures:
    return SourceFigures.of(s.text for s in sources)
