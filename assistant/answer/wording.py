"""The assistant's own wording (prompts/composer.yaml): what it says around the passages it
quotes, when it declines, before suggestions and after a hand-off, in every language. The
file is checked when it loads: every text in every language, and only the placeholders code
fills."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from string import Formatter
from typing import Any

import yaml

from assistant.errors import ConfigurationError
from assistant.text import LANGUAGES

# What code fills in each text, by key.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "answer_intro": frozenset({"title"}),
    "decline": frozenset(),
    "suggestions_intro": frozenset({"tier", "risk"}),
    "risk_not_assessed": frozenset(),
    "handoff_reference": frozenset({"reference"}),
}


@dataclass(frozen=True)
class ComposerWording:
    answer_intro: dict[str, str]
    decline: dict[str, str]
    suggestions_intro: dict[str, str]
    risk_not_assessed: dict[str, str]
    handoff_reference: dict[str, str]

    @classmethod
    def load(cls, prompts_dir: Path) -> ComposerWording:
        path = prompts_dir / "composer.yaml"
        data = read_texts_file(path)
        return cls(
            **{f.name: texts_in(path, data, f.name, PLACEHOLDERS[f.name]) for f in fields(cls)}
        )


def read_texts_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
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
