"""The assistant's wording (prompts/composer.yaml) is checked when it loads: a text missing
in a language, or a placeholder nothing fills, names the file and the key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.answer.wording import ComposerWording
from assistant.errors import ConfigurationError
from tests.conftest import ROOT


def broken(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", folder)
    path = folder / "composer.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def test_the_real_wording_loads_in_every_language() -> None:
    wording = ComposerWording.load(ROOT / "prompts")
    assert set(wording.answer_intro) >= {"zh-CN", "zh-TW", "en"}
    assert "{reference}" in wording.handoff_reference["zh-CN"]


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (
            'zh-CN: "根据《{title}》："',
            'zh-CN: "根据《{titel}》："',
            "answer_intro.zh-CN uses {titel}",
        ),
        ('  en: "not assessed"', "", "risk_not_assessed has no en text"),
        ("登记编号：{reference}", "登记编号：{reference", "handoff_reference.zh-CN"),
    ],
)
def test_a_broken_text_names_the_file_and_the_key(
    tmp_path: Path, old: str, new: str, says: str
) -> None:
    with pytest.raises(ConfigurationError, match=r"composer\.yaml") as raised:
        ComposerWording.load(broken(tmp_path, old, new))
    assert says in str(raised.value)
