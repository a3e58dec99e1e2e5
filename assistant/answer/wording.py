"""The assistant's own wording (prompts/composer.yaml): what it says around the passages it
quotes, when it declines, before suggestions and after a hand-off, in every language. The
file is checked when it loads: every text in every language, and only the placeholders code
fills."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from string import Formatter
from typing import Any

import yaml

from assistant.content import parse_yaml
from assistant.errors import ConfigurationError
from assistant.text import LANGUAGES, fold

# What code fills in each text, by key.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "answer_intro": frozenset({"title"}),
    "decline": frozenset(),
    "suggestions_intro": frozenset({"tier", "risk"}),
    "risk_not_assessed": frozenset(),
    "handoff_reference": frozenset({"reference"}),
    "decline_subject_silent": frozenset({"title"}),
    "decline_closest": frozenset({"titles"}),
    "decline_next_customer": frozenset(),
    "decline_next_staff": frozenset({"owner"}),
}


@dataclass(frozen=True)
class ComposerWording:
    answer_intro: dict[str, str]
    decline: dict[str, str]
    suggestions_intro: dict[str, str]
    risk_not_assessed: dict[str, str]
    handoff_reference: dict[str, str]
    decline_subject_silent: dict[str, str]
    decline_closest: dict[str, str]
    decline_next_customer: dict[str, str]
    decline_next_staff: dict[str, str]
    # Who owns a topic, for staff after a decline: owner -> language -> name, and which
    # owner each document category falls to.
    staff_owners: dict[str, dict[str, str]] = field(default_factory=dict)
    owner_of_category: dict[str, str] = field(default_factory=dict)
    # Questions that ask for a list or steps, answered with the whole list.
    asks_for_list: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def load(cls, prompts_dir: Path) -> ComposerWording:
        path = prompts_dir / "composer.yaml"
        data = read_texts_file(path)
        owners = data.get("staff_owners")
        categories = data.get("owner_of_category", {})
        if not isinstance(owners, dict) or "default" not in owners:
            raise ConfigurationError(f"{path}: staff_owners needs a 'default' owner")
        if not isinstance(categories, dict) or not set(categories.values()) <= set(owners):
            raise ConfigurationError(
                f"{path}: owner_of_category must map categories to owners in staff_owners"
            )
        return cls(
            **{
                f.name: texts_in(path, data, f.name, PLACEHOLDERS[f.name])
                for f in fields(cls)
                if f.name in PLACEHOLDERS
            },
            staff_owners={owner: texts_in(path, owners, owner, frozenset()) for owner in owners},
            owner_of_category={str(k): str(v) for k, v in categories.items()},
            asks_for_list=_patterns(path, data, "asks_for_list"),
        )

    def wants_list(self, question: str) -> bool:
        folded = fold(question)
        return any(pattern.search(folded) for pattern in self.asks_for_list)

    def owner(self, category: str | None, language: str) -> str:
        """The team that owns a document category, in the reader's language."""
        owner = self.owner_of_category.get(category or "", "default")
        return self.staff_owners[owner][language]


def _patterns(path: Path, data: dict[str, Any], key: str) -> tuple[re.Pattern[str], ...]:
    patterns = data.get(key, [])
    if not isinstance(patterns, list):
        raise ConfigurationError(f"{path}: {key} must be a list of regular expressions")
    try:
        return tuple(re.compile(str(p)) for p in patterns)
    except re.error as error:
        raise ConfigurationError(
            f"{path}: {key} has a pattern that does not compile: {error}"
        ) from None


def read_texts_file(path: Path) -> dict[str, Any]:
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(f"{path}: cannot be read as YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: expected a mapping of text keys")
    return data


def texts_in(
    path: Path, data: dict[str, Any], key: str, placeholders: frozenset[str]
) -> dict[str, str]:
    """The text of every language under key, using only the placeholders code fills."""
    texts = data.get(key)
    if not isinstance(texts, dict):
        raise ConfigurationError(f"{path}: {key} is missing; give it a text per language")
    for language in LANGUAGES:
        text = texts.get(language)
        if not isinstance(text, str) or not text.strip():
            raise ConfigurationError(f"{path}: {key} has no {language} text; add one")
        check_placeholders(path, f"{key}.{language}", text, placeholders)
    return texts


def text_in(path: Path, data: dict[str, Any], key: str, placeholders: frozenset[str]) -> str:
    """The one text under key (a dotted key reads nested mappings)."""
    value: Any = data
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{path}: {key} is missing; give it a text")
    check_placeholders(path, key, value, placeholders)
    return value


def check_placeholders(path: Path, where: str, text: str, known: frozenset[str]) -> None:
    try:
        used = {name for _, name, _, _ in Formatter().parse(text) if name is not None}
    except ValueError as error:
        raise ConfigurationError(f"{path}: {where}: {error}; write braces as {{{{ }}}}") from None
    unknown = used - known
    if unknown:
        allowed = ", ".join(f"{{{name}}}" for name in sorted(known)) or "none"
        raise ConfigurationError(
            f"{path}: {where} uses {', '.join(f'{{{n}}}' for n in sorted(unknown))}, which "
            f"nothing fills; its placeholders: {allowed}"
        )
