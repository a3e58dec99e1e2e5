"""Product suggestions that fit the customer, suitable by construction.

The profile's tier comes from its assets under management, by the thresholds in the tier
policy; every rule (tier, risk level, amount, age, qualified investors, elderly customers,
effective dates) is a pure function over the product's front matter and the rules in the
policy documents' front matter. A product is suggested only when no rule excludes it, and
every exclusion says which rule and why. A rule reports its facts; the sentence that explains
them, in the reader's language, comes from prompts/suitability.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from string import Formatter
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.content import parse_yaml
from assistant.errors import ConfigurationError, InvalidRequest
from assistant.ingest.documents import RiskLevel, Tier
from assistant.text import LANGUAGES, Text

CustomerRisk = Literal["C1", "C2", "C3", "C4", "C5"]
TIERS: tuple[Tier, ...] = ("mass", "gold", "platinum", "diamond", "private")
WORDING_FILE = "suitability.yaml"


class Profile(BaseModel):
    """What the teller enters, or what the app backend's signed claims carry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    aum: float = Field(ge=0, description="Assets under management, 月日均金融资产, yuan.")
    available_amount: float = Field(ge=0, description="What the customer wants to place now.")
    risk_level: CustomerRisk | None = None
    risk_assessed_on: date | None = None
    age: int = Field(ge=0, le=120)
    segment: Text | None = None
    goal: Text | None = Field(None, max_length=2000)
    horizon_months: int | None = Field(None, ge=0, le=600)
    holdings: list[Text] = []
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


@dataclass(frozen=True)
class TierNames:
    """Tiers a reason names, shown by their names in the reader's language."""

    tiers: tuple[str, ...]


@dataclass(frozen=True)
class Reason:
    """Why a rule fails, as facts: `text` names the reason in the wording file, and `facts`
    fill its placeholders."""

    text: str
    facts: Mapping[str, object] = field(default_factory=dict)


Rule = Callable[[Product, Profile, "Context"], Reason | None]


@dataclass(frozen=True)
class Context:
    tier: Tier
    today: date
    assessment_valid: bool
    rules: SuitabilityRules


def _in_effect(p: Product, _: Profile, c: Context) -> Reason | None:
    if not (
        (p.effective_from and c.today < p.effective_from)
        or (p.effective_to and c.today > p.effective_to)
    ):
        return None
    if p.effective_from is None:
        return Reason("effective_dates_no_start", {"effective_to": p.effective_to})
    if p.effective_to is None:
        return Reason("effective_dates_no_end", {"effective_from": p.effective_from})
    dates = {"effective_from": p.effective_from, "effective_to": p.effective_to}
    return Reason("effective_dates", dates)


def _category(p: Product, _: Profile, c: Context) -> Reason | None:
    if p.category in c.rules.suggested_categories:
        return None
    if not p.category:
        return Reason("category_missing")
    return Reason("category", {"category": p.category})


def _tier(p: Product, _: Profile, c: Context) -> Reason | None:
    if p.tiers and c.tier not in p.tiers:
        return Reason("tier", {"tier": TierNames((c.tier,)), "allowed_tiers": TierNames(p.tiers)})
    return None


def _assessment(p: Product, profile: Profile, c: Context) -> Reason | None:
    if is_investment(p) and not c.assessment_valid:
        missing = profile.risk_level is None or profile.risk_assessed_on is None
        text = "risk_assessment_missing" if missing else "risk_assessment_expired"
        return Reason(text, {"valid_months": c.rules.assessment_valid_months})
    return None


def _risk(p: Product, profile: Profile, _: Context) -> Reason | None:
    if p.risk_level and profile.risk_level and _level(p.risk_level) > _level(profile.risk_level):
        levels = {"product_risk": p.risk_level, "customer_risk": profile.risk_level}
        return Reason("risk_level", levels)
    return None


def _amount(p: Product, profile: Profile, _: Context) -> Reason | None:
    if p.min_amount and profile.available_amount < p.min_amount:
        amounts = {"min_amount": p.min_amount, "available_amount": profile.available_amount}
        return Reason("minimum_amount", amounts)
    return None


def _age(p: Product, profile: Profile, _: Context) -> Reason | None:
    if p.age_min is not None and profile.age < p.age_min:
        return Reason("age_below_minimum", {"age": profile.age, "age_min": p.age_min})
    if p.age_max is not None and profile.age > p.age_max:
        return Reason("age_above_maximum", {"age": profile.age, "age_max": p.age_max})
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


def _horizon(p: Product, profile: Profile, c: Context) -> Reason | None:
    planned = profile.horizon_months
    if planned is None:
        return None
    needed = c.rules.long_horizon_categories.get(p.category or "")
    if needed and planned < needed:
        return Reason("horizon_long_term", {"needed_months": needed, "planned_months": planned})
    months = commitment_months(p.term)
    if months > planned:
        return Reason("horizon_commitment", {"months": months, "planned_months": planned})
    return None


def _qualified(p: Product, profile: Profile, _: Context) -> Reason | None:
    if p.qualified_investor_only and not profile.qualified_investor:
        return Reason("qualified_investor")
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


def handoff_reason(p: Product, profile: Profile, rules: SuitabilityRules) -> Reason | None:
    """Suitable, but not to be sold through chat: the sale needs a branch and 双录."""
    if not p.risk_level:
        return None
    level = _level(p.risk_level)
    if level >= _level(rules.dual_recording_from):
        return Reason("dual_recording", {"risk_level": p.risk_level})
    if profile.age >= rules.elderly_age and level >= _level(rules.elderly_dual_recording_from):
        return Reason("dual_recording_elderly", {"age": profile.age, "risk_level": p.risk_level})
    return None


class WordingInvalid(ConfigurationError):
    """prompts/suitability.yaml lacks a text, or a text uses a placeholder code never fills."""


_DAY = date(2026, 1, 1)
# Every reason the rules give, with a value of the type code fills into each placeholder: the
# texts are tried on these when loaded, so a bad placeholder fails there, not mid-conversation.
_PRODUCT_FACTS: dict[str, dict[str, object]] = {
    "risk_level": {"level": "R2"},
    "min_amount": {"amount": 50_000.0},
    "term": {"term": "1年"},
    "fact_separator": {},
    "sheet": {"title": "江澜稳盈90天", "facts": "风险等级R2", "n": 1},
}
_REASON_FACTS: dict[str, dict[str, object]] = {
    "effective_dates": {"effective_from": _DAY, "effective_to": _DAY},
    "effective_dates_no_start": {"effective_to": _DAY},
    "effective_dates_no_end": {"effective_from": _DAY},
    "category": {"category": "mortgage"},
    "category_missing": {},
    "tier": {"tier": "Gold", "allowed_tiers": "Platinum, Diamond"},
    "risk_assessment_missing": {"valid_months": 12},
    "risk_assessment_expired": {"valid_months": 12},
    "risk_level": {"product_risk": "R4", "customer_risk": "C3"},
    "qualified_investor": {},
    "minimum_amount": {"min_amount": 1000.0, "available_amount": 1000.0},
    "age_below_minimum": {"age": 16, "age_min": 18},
    "age_above_maximum": {"age": 60, "age_max": 55},
    "horizon_long_term": {"needed_months": 60, "planned_months": 12},
    "horizon_commitment": {"months": 36.0, "planned_months": 12},
    "dual_recording": {"risk_level": "R4"},
    "dual_recording_elderly": {"age": 70, "risk_level": "R3"},
}


@dataclass(frozen=True)
class SuitabilityWording:
    """What a teller or customer reads about suitability, per language: tier names and the
    reasons behind exclusions and hand-offs, as the content team keeps them."""

    tiers: Mapping[str, Mapping[str, str]]
    list_separator: Mapping[str, str]
    reasons: Mapping[str, Mapping[str, str]]
    facts: Mapping[str, Mapping[str, str]]

    @classmethod
    def load(cls, prompts_dir: Path) -> SuitabilityWording:
        path = prompts_dir / WORDING_FILE
        data = _read_yaml(path)
        return cls(
            tiers={tier: _texts(path, data, f"tiers.{tier}", {}) for tier in TIERS},
            list_separator=_texts(path, data, "list_separator", {}),
            reasons={
                key: _texts(path, data, f"reasons.{key}", facts)
                for key, facts in _REASON_FACTS.items()
            },
            facts={
                key: _texts(path, data, f"facts.{key}", facts)
                for key, facts in _PRODUCT_FACTS.items()
            },
        )

    def product_facts(
        self, meta: Mapping[str, Any], first_sentence: str, n: int, language: str
    ) -> str:
        """A suggestion's sentence: the product's risk level, minimum, term and benchmark as
        its sheet states them, cited [n]; a sheet without such fields (a product list, say)
        is introduced by its passage's first sentence."""
        texts = {key: entry[_known(language)] for key, entry in self.facts.items()}
        values = {"risk_level": "level", "min_amount": "amount", "term": "term"}
        facts = [
            texts[field].format(**{name: meta[field]})
            for field, name in values.items()
            if meta.get(field)
        ]
        if meta.get("benchmark_yield"):
            facts.append(str(meta["benchmark_yield"]))
        joined = texts["fact_separator"].join(facts or [first_sentence])
        return texts["sheet"].format(title=meta["title"], facts=joined, n=n)

    def tier_name(self, tier: str, language: str) -> str:
        return self.tiers[tier][_known(language)]

    def reason(self, finding: Reason, language: str) -> str:
        values = {name: self._shown(value, language) for name, value in finding.facts.items()}
        return self.reasons[finding.text][_known(language)].format(**values)

    def _shown(self, value: object, language: str) -> object:
        if isinstance(value, TierNames):
            names = (self.tier_name(tier, language) for tier in value.tiers)
            return self.list_separator[language].join(names)
        return value


def _known(language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidRequest(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    return language


def _read_yaml(path: Path) -> Any:
    try:
        return parse_yaml(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise WordingInvalid(f"{path}: cannot be read ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise WordingInvalid(f"{path}: not valid YAML ({error})") from None


def _texts(path: Path, data: Any, key: str, facts: Mapping[str, object]) -> dict[str, str]:
    """The entry at the dotted key: a text in each language, each using only known facts."""
    entry = data
    for part in key.split("."):
        entry = entry.get(part) if isinstance(entry, dict) else None
    if not isinstance(entry, dict):
        raise WordingInvalid(f"{path}: {key} is missing; give it a text in {', '.join(LANGUAGES)}")
    for language in LANGUAGES:
        text = entry.get(language)
        if not isinstance(text, str) or not text.strip():
            raise WordingInvalid(f"{path}: {key}.{language} is missing; write the {language} text")
        _check_placeholders(path, f"{key}.{language}", text, facts)
    return {language: entry[language] for language in LANGUAGES}


def _check_placeholders(path: Path, key: str, text: str, facts: Mapping[str, object]) -> None:
    allowed = ", ".join(f"{{{name}}}" for name in facts) or "none"
    try:
        names = {name for _, name, _, _ in Formatter().parse(text) if name is not None}
        if unknown := sorted(names - facts.keys()):
            raise WordingInvalid(
                f"{path}: {key} uses the unknown placeholder {{{unknown[0]}}}; its placeholders: "
                f"{allowed} (write a literal brace as {{{{ or }}}})"
            )
        # So does a format that does not suit the value's type, such as {age:%Y}.
        text.format(**facts)
    except (LookupError, ValueError, TypeError) as error:
        raise WordingInvalid(
            f"{path}: {key} is not a valid text ({error}); its placeholders: {allowed}"
        ) from None


def decide(
    products: Iterable[Product],
    profile: Profile,
    today: date,
    rules: SuitabilityRules,
    wording: SuitabilityWording,
    language: str = "zh-CN",
) -> Decision:
    """Which products suit the customer; every reason given reads in `language`."""
    tier = tier_for(profile.aum, rules.tier_thresholds)
    valid = assessment_valid(profile, today, rules.assessment_valid_months)
    context = Context(tier, today, valid, rules)
    eligible: list[Product] = []
    handoff: list[Exclusion] = []
    excluded: list[Exclusion] = []
    for product in products:
        failure = next(
            (
                (name, finding)
                for name, rule in EXCLUSIONS
                if (finding := rule(product, profile, context))
            ),
            None,
        )
        if failure:
            name, finding = failure
            excluded.append(Exclusion(product.id, name, wording.reason(finding, language)))
        elif finding := handoff_reason(product, profile, rules):
            reason = wording.reason(finding, language)
            handoff.append(Exclusion(product.id, "dual_recording", reason))
        else:
            eligible.append(product)
    return Decision(tier, valid, eligible, handoff, excluded)


class RulesMissing(ConfigurationError):
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
