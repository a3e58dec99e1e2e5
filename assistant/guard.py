"""The compliance guardrail: the policy in guardrails/*.yaml applied to every message and
every reply draft.

Input: personal data is masked first, then prompt injection is refused, requests for a person
are handed off, and off-topic requests redirected. Output: a draft is read sentence by
sentence; a sentence that promises returns, uses banned superlatives, states a figure its
sources do not contain, or repeats staff-only text to a customer is removed; a reply about an
investment product gets its risk level and warning; if nothing useful is left, the safe
answer replaces it. Every verdict names the rule, its basis, and what was done.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from assistant.pii import find_pii, mask
from assistant.text import Language, detect_language, fold, to_simplified, tokenize

Action = Literal["allow", "mask", "rewrite", "block", "handoff"]
_SEVERITY: dict[str, int] = {"allow": 0, "mask": 1, "rewrite": 2, "handoff": 3, "block": 4}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PiiRule(_Strict):
    id: str
    validator: Literal["cn_resident_id", "bank_card", "cn_mobile", "cn_landline", "email"]
    mask: str


class PiiPolicy(_Strict):
    basis: str
    message: dict[str, str]
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
    pii: PiiPolicy
    injection: InjectionPolicy
    handoff: HandoffRule
    off_topic: PatternRule


class Negation(_Strict):
    window_zh: int
    window_en: int
    zh: list[str]
    en: list[str]
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
    safe_answer: dict[str, str]
    allowed_figures: list[str]
    negation: Negation
    rules: list[OutputRule]

    def rule(self, family: str) -> OutputRule:
        return next(r for r in self.rules if r.family == family)


class PolicyError(ValueError):
    """A guardrail policy file is missing or malformed; the message names the file."""


def load_policy(directory: Path) -> tuple[InputPolicy, OutputPolicy]:
    def read(name: str, model: type[BaseModel]) -> Any:
        path = directory / name
        try:
            policy = model.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError, ValueError) as error:
            raise PolicyError(f"{path}: {error}") from None
        return policy

    return read("input.yaml", InputPolicy), read("output.yaml", OutputPolicy)


@dataclass(frozen=True)
class Finding:
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
    findings: list[Finding] = field(default_factory=list)

    @property
    def rules(self) -> list[str]:
        return list(dict.fromkeys(f.rule for f in self.findings))

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "rules": self.rules,
            "text": self.text,
            "findings": [f.as_dict() for f in self.findings],
        }


def most_severe(actions: Iterable[Action]) -> Action:
    return max(actions, key=_SEVERITY.__getitem__, default="allow")


def _worst(findings: Iterable[Finding]) -> Action:
    return most_severe(f.action for f in findings)


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
        flags = re.IGNORECASE | re.DOTALL
        self._indicators = [
            (i.weight, re.compile(i.pattern, flags)) for i in policy.injection.indicators
        ]
        self._handoff = [re.compile(p, flags) for p in policy.handoff.patterns]
        self._off_topic = [re.compile(p, flags) for p in policy.off_topic.patterns]
        self._handoff_kinds = {
            kind: re.compile(p, flags) for kind, p in policy.handoff.kinds.items()
        }
        self._pii_kinds = [r.validator for r in policy.pii.rules]
        self._pii_rules = {r.validator: r for r in policy.pii.rules}

    def without_masks(self, text: str) -> str:
        """The masked message with the mask labels removed, so that "[银行卡号]" does not
        steer retrieval towards card documents; a lead-in that only introduced the data
        ("我的手机号是", "my phone number is") goes with it."""
        for rule in self.policy.pii.rules:
            text = re.sub(_PII_LEAD_IN + re.escape(rule.mask), " ", text, flags=re.IGNORECASE)
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

    def inspect(self, message: str, language: Language | None = None) -> GuardResult:
        language = language or detect_language(message)
        text = message
        findings: list[Finding] = []
        matches = find_pii(message.translate(_HALF_WIDTH), self._pii_kinds)
        if matches:
            labels = {kind: rule.mask for kind, rule in self._pii_rules.items()}
            text = mask(message, matches, labels)
            for kind in dict.fromkeys(m.kind for m in matches):
                findings.append(
                    Finding(
                        self._pii_rules[kind].id,
                        "mask",
                        _message(self.policy.pii.message, language),
                        self.policy.pii.basis,
                    )
                )
        injection = self.policy.injection
        folded = text.translate(_HALF_WIDTH)
        if self.injection_score(folded) >= injection.threshold:
            findings.append(
                Finding(
                    injection.id, "block", _message(injection.message, language), injection.basis
                )
            )
            return GuardResult("block", text, findings)
        for rule, patterns in (
            (self.policy.handoff, self._handoff),
            (self.policy.off_topic, self._off_topic),
        ):
            hit = next((m for p in patterns if (m := p.search(folded))), None)
            if hit:
                findings.append(
                    Finding(
                        rule.id,
                        rule.action,
                        _message(rule.message, language),
                        rule.basis,
                        hit.group(),
                    )
                )
                return GuardResult(rule.action, text, findings)
        return GuardResult(_worst(findings), text, findings)


# --------------------------------------------------------------------------- output

# A sentence ends at Chinese punctuation, or at a full stop before a capital ("No. 1" is
# not an ending), and keeps its citation markers.
_SEGMENT = re.compile(
    r".+?(?:[。！？!?；;]+|\.(?=\s+[A-Z\u4e00-\u9fff]|\s*$)|\n|$)(?:\[\d+\])*\s*", re.DOTALL
)
_MARKER = re.compile(r"\[\d+\]")
# "我的手机号是" / "my phone number is" before a masked value.
_PII_LEAD_IN = (
    r"(?:(?:我|本人)?的?(?:手机号码?|手机|电话号?码?|联系电话|身份证号?码?|证件号码?|银行?卡号|"
    r"卡号|邮箱地址|邮箱|電話號?碼?|手機號?碼?|身份證號?碼?|卡號|郵箱)\s*(?:是|为|為|:|：)?\s*"
    r"|(?:my\s+)?(?:mobile|phone|telephone|id|card|e-?mail)(?:\s+(?:number|no\.?|address))?"
    r"\s*(?:is|:)?\s*)?"
)
_NON_TEXT = re.compile(r"[\s\W_]+", re.UNICODE)
_PHRASE = 6
_NOT_NEGATION = ("不仅", "不但", "不只", "不光", "不单")
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
        flags = re.IGNORECASE
        self._claims = {
            family: [re.compile(p, flags) for p in policy.rule(family).patterns]
            for family in ("promised_return", "superlative")
        }
        disclosure = policy.rule("missing_disclosure")
        self._mentions = re.compile(disclosure.mentions or r"(?!)", flags)
        self._required = {lang: re.compile(p, flags) for lang, p in disclosure.required.items()}
        self._prohibition = re.compile(policy.negation.prohibition, flags)

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
        for word in _NOT_NEGATION:
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
        """The rules a single sentence breaks, each with the words that broke it."""
        broken: list[tuple[OutputRule, str]] = []
        for family in ("promised_return", "superlative"):
            words = self._claim(family, sentence)
            if words:
                broken.append((self.policy.rule(family), words))
        untraceable = source_figures.untraceable(sentence, set(self.policy.allowed_figures))
        if untraceable:
            broken.append((self.policy.rule("untraceable_figure"), ", ".join(untraceable)))
        if role == "customer" and view is not None:
            rule = self.policy.rule("staff_content")
            overlap = view.staff_overlap(sentence, rule.staff_terms or 2)
            if overlap:
                broken.append((rule, overlap))
        return broken

    def review_stream(
        self,
        pieces: Iterable[str],
        sources: Sequence[SourceDocument],
        role: str,
        language: Language,
        view: KnowledgeView | None = None,
        findings: list[Finding] | None = None,
    ) -> Iterator[str]:
        """Release a reply sentence by sentence, each only after it passed the rails; the
        risk warning follows where one is owed. Findings are appended to `findings`."""
        findings = findings if findings is not None else []
        source_figures = _figures_of(sources)
        released: list[str] = []
        buffer = ""
        for piece in pieces:
            buffer += piece
            done = segments(buffer)
            # The last segment may still be growing; hold it until more text or the end.
            for sentence in done[:-1]:
                if self._pass(sentence, source_figures, role, view, findings):
                    released.append(sentence)
                    yield sentence
            buffer = done[-1] if done else ""
        if buffer.strip() and self._pass(buffer, source_figures, role, view, findings):
            released.append(buffer)
            yield buffer
        disclosure = self._disclosure("".join(released), sources, language, findings)
        if disclosure:
            yield disclosure

    def _pass(
        self,
        sentence: str,
        source_figures: SourceFigures,
        role: str,
        view: KnowledgeView | None,
        findings: list[Finding],
    ) -> bool:
        broken = self.review_sentence(sentence, source_figures, role, view)
        language = detect_language(sentence)
        for rule, words in broken:
            findings.append(
                Finding(rule.id, rule.action, _message(rule.message, language), rule.basis, words)
            )
        return not broken

    def _disclosure(
        self,
        reply: str,
        sources: Sequence[SourceDocument],
        language: Language,
        findings: list[Finding],
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
        findings.append(Finding(rule.id, rule.action, _message(rule.message, language), rule.basis))
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
        findings: list[Finding] = []
        source_figures = _figures_of(sources)
        body = "".join(
            s for s in segments(draft) if self._pass(s, source_figures, role, view, findings)
        ).strip()
        if findings and says_nothing(body):
            return GuardResult("block", self.safe_answer(language), findings)
        disclosure = self._disclosure(body, sources, language, findings)
        if not findings:
            return GuardResult("allow", draft, [])
        return GuardResult(_worst(findings), body + (disclosure or ""), findings)


def says_nothing(reply: str) -> bool:
    """Nothing but citation markers and punctuation is left of a reply."""
    return not re.search(r"\w", _MARKER.sub("", reply))


def _figures_of(sources: Sequence[SourceDocument]) -> SourceFigures:
    return SourceFigures.of(s.text for s in sources)
