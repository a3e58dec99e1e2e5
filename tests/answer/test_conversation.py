"""What makes a follow-up is content (prompts/conversation.yaml), checked when it loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.answer.conversation import FollowUps
from assistant.errors import ConfigurationError
from tests.conftest import ROOT


def test_openers_and_short_leaning_questions_are_follow_ups() -> None:
    follow_ups = FollowUps.load(ROOT / "prompts")
    assert follow_ups.is_follow_up("那三年期呢？", "zh-CN")
    assert follow_ups.is_follow_up("美元呢", "zh-CN")
    assert follow_ups.is_follow_up("And for five years?", "en")
    assert not follow_ups.is_follow_up("大额存单三年期的利率是多少？", "zh-CN")
    assert not follow_ups.is_follow_up("What is the annual fee of the platinum card?", "en")


def test_a_broken_opener_names_the_file(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "prompts", tmp_path / "prompts")
    path = tmp_path / "prompts" / "conversation.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("'要是'", "'要是('"), "utf-8")
    with pytest.raises(ConfigurationError, match=r"conversation\.yaml"):
        FollowUps.load(tmp_path / "prompts")
