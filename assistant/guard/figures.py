"""The figures of a text (rates, amounts, terms, ages), read so that two spellings of one
figure compare equal: 20万元 and CNY 200,000, 1.90% and 1.9%."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from assistant.guard.verdicts import normalise
from assistant.text import to_simplified

MARKER = re.compile(r"\[\d+\]")
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


Figure = tuple[str, str]  # (canonical value, unit class); 20万元 and CNY 200,000 are equal


def figures(text: str) -> list[Figure]:
    """The figures of a text in order. Citation markers and risk levels (R2, C3) are not
    figures; 1.90% and 1.9% are the same figure."""
    return [figure for _, figure in figures_at(text)]


def figures_at(text: str) -> list[tuple[int, Figure]]:
    found: list[tuple[int, Figure]] = []
    for m in _FIGURE.finditer(MARKER.sub(" ", to_simplified(normalise(text)))):
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
    """The term (年, 个月, days) a rate is quoted for, read as a row is read. A clause that
    opens with a term puts each term before its rate ("1天 0.10% 7天 0.45%", "3年期 1.90%");
    one that opens with a rate puts it after ("1.60% for 2 years and 1.90% for 3 years").
    A term with another rate between it and this one belongs to that other rate."""
    items = [(at, f) for at, f in found if f[1] in _TERM_UNITS or f[1] == "%"]
    terms_first = bool(items) and items[0][1][1] in _TERM_UNITS
    rates = [at for at, f in items if f[1] == "%"]

    def reachable(at: int) -> bool:
        low, high = sorted((at, position))
        return high - low <= _TERM_REACH and not any(low < r < high for r in rates)

    terms = [(at, f) for at, f in items if f[1] in _TERM_UNITS and reachable(at)]
    before = [(position - at, f) for at, f in terms if at < position]
    after = [(at - position, f) for at, f in terms if at > position]
    first, second = (before, after) if terms_first else (after, before)
    nearest = min(first) if first else min(second) if second else None
    return nearest[1] if nearest else None
