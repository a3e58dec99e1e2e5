"""Product suggestions that fit the customer, suitable by construction.

The profile's tier comes from its assets under management, by the thresholds in the tier
policy; every rule (tier, risk level, amount, age, qualified investors, elderly customers,
effective dates) is a pure function over the product's front matter and the rules in the
policy documents' front matter. A product is suggested only when no rule excludes it, and
every exclusion says which rule and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.documents import RiskLevel, Tier

CustomerRisk = Literal["C1", "C2", "C3", "C4", "C5"]
TIERS: tuple[Tier, ...] = ("mass", "gold", "platinum", "diamond", "private")
TIER_NAMES = {
    "mass": "大众客户",
    "gold": "金卡客户",
    "platinum": "白金客户",
    "diamond": "钻石客户",
    "private": "私人银行客户",
}


class Profile(BaseModel):
    """What the teller enters, or what the app backend's signed claims carry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    aum: float = Field(ge=0, description="Assets under management, 月日均金融资产, yuan.")
    available_amount: float = Field(ge=0, description="What the customer wants to place now.")
    risk_level: CustomerRisk | None = None
    risk_assessed_on: date | None = None
    age: int = Field(ge=0, le=120)
    segment: str | None = None
    goal: str | None = None
    horizon_months: int | None = Field(None, ge=0, le=600)
    holdings: list[str] = []
    qualified_investor: bool = False


class SuitabilityRules(BaseModel):
    """The rules as the policy documents state them (their front matter `rules:`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    tier_thresholds: dict[Tier, float]
    assessment_valid_months: int
    elderly_age: int
    elderly_dual_recording_from: RiskLevel
    dual_recording_from: RiskLevel
    suggested_categories: list[str]
    long_horizon_categories: dict[str, int] = {}


@dataclass(frozen=True)
class Product:
    id: str
    title: str
    category: str | None
    risk_level: str | None
    tiers: tuple[str, ...] | None
    min_amount: float | None
    age_min: int | None
    age_max: int | None
    qualified_investor_only: bool
    effective_from: date | None
    effective_to: date | None
    term: str | None
    benchmark_yield: str | None

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Product:
        def day(value: Any) -> date | None:
            return date.fromisoformat(str(value)) if value else None

        return cls(
            id=meta["id"],
            title=meta["title"],
            category=meta.get("category"),
            risk_level=meta.get("risk_level"),
            tiers=tuple(meta["tiers"]) if meta.get("tiers") else None,
            min_amount=meta.get("min_amount"),
            age_min=meta.get("age_min"),
            age_max=meta.get("age_max"),
            qualified_investor_only=bool(meta.get("qualified_investor_only")),
            effective_from=day(meta.get("effective_from")),
            effective_to=day(meta.get("effective_to")),
            term=meta.get("term"),
            benchmark_yield=meta.get("benchmark_yield"),
        )


@dataclass(frozen=True)
class Exclusion:
    product_id: str
    rule: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.product_id, "rule": self.rule, "reason": self.reason}


@dataclass(frozen=True)
class Decision:
    tier: Tier
    assessment_valid: bool
    eligible: list[Product]
    handoff: list[Exclusion]
    excluded: list[Exclusion]


def tier_for(aum: float, thresholds: dict[Tier, float]) -> Tier:
    """The highest tier whose threshold the assets reach."""
    reached = [tier for tier in TIERS if aum >= thresholds.get(tier, float("inf"))]
    return reached[-1] if reached else "mass"


def assessment_valid(profile: Profile, today: date, months: int) -> bool:
    if profile.risk_level is None or profile.risk_assessed_on is None:
        return False
    elapsed = (
        (today.year - profile.risk_assessed_on.year) * 12
        + (today.month - profile.risk_assessed_on.month)
        - (today.day < profile.risk_assessed_on.day)
    )
    return 0 <= elapsed < months and profile.risk_assessed_on <= today


def _level(value: str) -> int:
    return int(value[1])


def is_investment(product: Product) -> bool:
    """Anything above R1 carries investment risk and needs a valid risk assessment."""
    return product.risk_level is not None and _level(product.risk_level) > 1


Rule = Callable[[Product, Profile, "Context"], str | None]


@dataclass(frozen=True)
class Context:
    tier: Tier
    today: date
    assessment_valid: bool
    rules: SuitabilityRules


def _in_effect(p: Product, _: Profile, c: Context) -> str | None:
    if (p.effective_from and c.today < p.effective_from) or (
        p.effective_to and c.today > p.effective_to
    ):
        return f"不在有效期内（{p.effective_from or '—'} 至 {p.effective_to or '长期'}）"
    return None


def _category(p: Product, _: Profile, c: Context) -> str | None:
    if p.category not in c.rules.suggested_categories:
        return f"{p.category or '该产品'}不属于储蓄投资类产品，不在建议范围内"
    return None


def _tier(p: Product, _: Profile, c: Context) -> str | None:
    if p.tiers and c.tier not in p.tiers:
        allowed = "、".join(TIER_NAMES[t] for t in p.tiers if t in TIER_NAMES)
        return f"客户层级为{TIER_NAMES[c.tier]}，该产品仅面向{allowed}"
    return None


def _assessment(p: Product, profile: Profile, c: Context) -> str | None:
    if is_investment(p) and not c.assessment_valid:
        state = (
            "缺失" if profile.risk_level is None or profile.risk_assessed_on is None else "已过期"
        )
        months = c.rules.assessment_valid_months
        return (
            f"风险承受能力评估{state}，只能建议存款类产品；请先完成风险评估（有效期{months}个月）"
        )
    return None


def _risk(p: Product, profile: Profile, _: Context) -> str | None:
    if p.risk_level and profile.risk_level and _level(p.risk_level) > _level(profile.risk_level):
        return f"产品风险等级{p.risk_level}高于客户风险承受能力{profile.risk_level}"
    return None


def _amount(p: Product, profile: Profile, _: Context) -> str | None:
    if p.min_amount and profile.available_amount < p.min_amount:
        return f"起购金额{p.min_amount:,.0f}元高于可投资金额{profile.available_amount:,.0f}元"
    return None


def _age(p: Product, profile: Profile, _: Context) -> str | None:
    if p.age_min is not None and profile.age < p.age_min:
        return f"客户{profile.age}岁，低于产品最低年龄{p.age_min}岁"
    if p.age_max is not None and profile.age > p.age_max:
        return f"客户{profile.age}岁，高于产品最高年龄{p.age_max}岁"
    return None


_DURATION = re.compile(
    r"(?<!最长)(?<!up to )(\d+)\s*(天|日|个月|月|年|days?|months?|years?)", re.IGNORECASE
)
_DATE = re.compile(r"\d{4}年\d{1,2}月(\d{1,2}日)?|\d{4}-\d{2}-\d{2}")
_MONTHS_PER_UNIT = {
    **dict.fromkeys(("天", "日", "day"), 1 / 30),
    **dict.fromkeys(("个月", "月", "month"), 1),
    **dict.fromkeys(("年", "year"), 12),
}


def commitment_months(term: str | None) -> float:
    """How long the money is tied up at least: the shortest duration the term states.
    "最长3年" (a loan's ceiling) binds nothing; no duration at all means open-ended."""
    durations = []
    for number, unit in _DURATION.findall(_DATE.sub(" ", term or "")):
        durations.append(int(number) * _MONTHS_PER_UNIT[unit.lower().rstrip("s")])
    return min(durations, default=0.0)


def _horizon(p: Product, profile: Profile, c: Context) -> str | None:
    if profile.horizon_months is None:
        return None
    needed = c.rules.long_horizon_categories.get(p.category or "")
    if needed and profile.horizon_months < needed:
        planned = profile.horizon_months
        return f"该类资金长期封闭，仅适合{needed}个月以上的资金安排，客户计划{planned}个月"
    months = commitment_months(p.term)
    if months > profile.horizon_months:
        return f"资金至少占用约{months:.0f}个月，长于客户计划的{profile.horizon_months}个月"
    return None


def _qualified(p: Product, profile: Profile, _: Context) -> str | None:
    if p.qualified_investor_only and not profile.qualified_investor:
        return "仅限合格投资者，客户未经合格投资者认定"
    return None


# In order: the first rule that fails is the reason shown.
EXCLUSIONS: tuple[tuple[str, Rule], ...] = (
    ("effective_dates", _in_effect),
    ("category", _category),
    ("tier", _tier),
    ("risk_assessment", _assessment),
    ("risk_level", _risk),
    ("qualified_investor", _qualified),
    ("minimum_amount", _amount),
    ("age", _age),
    ("horizon", _horizon),
)


def handoff_reason(p: Product, profile: Profile, rules: SuitabilityRules) -> str | None:
    """Suitable, but not to be sold through chat: the sale needs a branch and 双录."""
    if not p.risk_level:
        return None
    level = _level(p.risk_level)
    if level >= _level(rules.dual_recording_from):
        return f"{p.risk_level}产品须到网点办理并双录，请转理财经理"
    if profile.age >= rules.elderly_age and level >= _level(rules.elderly_dual_recording_from):
        return f"客户{profile.age}岁，购买{p.risk_level}产品须到网点办理并双录，请转理财经理"
    return None


def decide(
    products: Iterable[Product], profile: Profile, today: date, rules: SuitabilityRules
) -> Decision:
    tier = tier_for(profile.aum, rules.tier_thresholds)
    valid = assessment_valid(profile, today, rules.assessment_valid_months)
    context = Context(tier, today, valid, rules)
    eligible: list[Product] = []
    handoff: list[Exclusion] = []
    excluded: list[Exclusion] = []
    for product in products:
        failure = next(
            (
                (name, reason)
                for name, rule in EXCLUSIONS
                if (reason := rule(product, profile, context))
            ),
            None,
        )
        if failure:
            excluded.append(Exclusion(product.id, *failure))
        elif reason := handoff_reason(product, profile, rules):
            handoff.append(Exclusion(product.id, "dual_recording", reason))
        else:
            eligible.append(product)
    return Decision(tier, valid, eligible, handoff, excluded)


class RulesMissing(ValueError):
    """The policy documents do not state a rule the suggestion engine needs."""


def load_rules(metas: Sequence[dict[str, Any]]) -> SuitabilityRules:
    """Merge the `rules:` of every policy document into one validated set."""
    merged: dict[str, Any] = {}
    for meta in metas:
        merged.update(meta.get("rules") or {})
    try:
        return SuitabilityRules.model_validate(merged)
    except ValidationError as error:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in error.errors())
        raise RulesMissing(
            f"the indexed policy documents do not state {fields}; add them under `rules:` in "
            "the front matter of the tier or risk-assessment policy and re-ingest"
        ) from None


def product_summary(product: Product) -> dict[str, Any]:
    return {k: v for k, v in asdict(product).items() if v is not None} | {
        "effective_from": str(product.effective_from) if product.effective_from else None,
        "effective_to": str(product.effective_to) if product.effective_to else None,
    }
