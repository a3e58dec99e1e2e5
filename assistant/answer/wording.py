"""The assistant's own wording (prompts/composer.yaml): what it says around the passages it
quotes, when it declines, before suggestions and after a hand-off, in every language."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from assistant.errors import ConfigurationError
from assistant.text import Language


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
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            return cls(**{key: _localised(data, key) for key in cls.__dataclass_fields__})
        except (OSError, yaml.YAMLError, TypeError, KeyError) as error:
            raise ConfigurationError(f"{path}: {error}") from None


LANGUAGES: tuple[Language, ...] = ("zh-CN", "zh-TW", "en")


def _localised(data: dict[str, dict[str, str]], key: str) -> dict[str, str]:
    texts = data[key]
    missing = [language for language in LANGUAGES if not texts.get(language)]
    if missing:
        raise KeyError(f"{key} has no text for {', '.join(missing)}")
    return texts


