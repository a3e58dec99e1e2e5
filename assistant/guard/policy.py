"""The compliance policy in guardrails/*.yaml, as validated models. A policy is checked when
it loads: an unknown family or rail, a missing language or a pattern that does not compile
is a PolicyError naming the file and the rule, not a failure mid-reply."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict

from assistant.content import parse_yaml
from assistant.errors import ConfigurationError
from assistant.text import LANGUAGES

_INPUT_RAILS = ("pii", "injection", "handoff", "off_topic")
# The output families checked sentence by sentence; missing_disclosure reads the whole reply.
SENTENCE_FAMILIES = ("promised_return", "superlative", "untraceable_figure", "staff_content")
_FAMILIES = (*SENTENCE_FAMILIES, "missing_disclosure")
INPUT_FLAGS = re.IGNORECASE | re.DOTALL
OUTPUT_FLAGS = re.IGNORECASE


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
    # attack: overriding, disclosing or switching off the rules; scope: role-play and
    # tasks outside banking, which alone are redirected, not refused as attacks.
    kind: Literal["attack", "scope"] = "attack"


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
    warned_against: str = r"(?!)"


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
    mixed_categories: list[str] = []
    mentions: str | None = None
    investment_words: str | None = None
    required: dict[str, str] = {}
    disclosure: dict[str, str] = {}
    risk_level: dict[str, str] = {}


class OutputPolicy(_Strict):
    version: int
    rails: list[str]
    safe_answer: dict[str, str]
    allowed_figures: list[str]
    pinyin_words: list[str] = []
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
        policy = model.model_validate(parse_yaml(path.read_text(encoding="utf-8")))
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
        yield from _uncompiled(where, indicator.pattern, INPUT_FLAGS)
    for rule in (policy.handoff, policy.off_topic):
        yield from _untranslated(f"rule {rule.id}: message", rule.message)
        yield from _uncompiled_all(f"rule {rule.id}: pattern", rule.patterns, INPUT_FLAGS)
    for kind, pattern in policy.handoff.kinds.items():
        yield from _uncompiled(f"rule {policy.handoff.id}: kind {kind}", pattern, INPUT_FLAGS)


def _output_problems(policy: OutputPolicy) -> Iterator[str]:
    yield from _rail_problems(policy.rails, SENTENCE_FAMILIES)
    yield from _untranslated("safe_answer", policy.safe_answer)
    yield from _uncompiled("negation: prohibition", policy.negation.prohibition, OUTPUT_FLAGS)
    yield from _uncompiled("negation: warned_against", policy.negation.warned_against, OUTPUT_FLAGS)
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
    yield from _uncompiled_all(f"{where}: pattern", rule.patterns, OUTPUT_FLAGS)
    yield from _uncompiled_all(f"{where}: topic", rule.topics, OUTPUT_FLAGS)
    if rule.mentions is not None:
        yield from _uncompiled(f"{where}: mentions", rule.mentions, OUTPUT_FLAGS)
    for language, pattern in rule.required.items():
        yield from _uncompiled(f"{where}: required {language}", pattern, OUTPUT_FLAGS)
    if rule.family == "staff_content":
        for name in ("shingle", "staff_terms"):
            if getattr(rule, name) is None:
                yield f"{where}: {name} is missing; say how much repeated staff text is too much"
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
    for language in LANGUAGES:
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
