"""The guardrail policy is checked when it loads: each test copies the real guardrails/ folder,
breaks it one way, and expects a PolicyError that names the file and the rule to fix. The
order of the rails is data in the files, and the guards follow it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.errors import ConfigurationError
from assistant.guard import InputGuard, OutputGuard, PolicyError, load_policy
from tests.conftest import ROOT

Policy = dict[str, Any]


def copy_with(tmp_path: Path, name: str, change: Callable[[Policy], object]) -> Path:
    """A copy of the real policy folder whose file `name` has been changed by `change`."""
    folder = tmp_path / "guardrails"
    shutil.copytree(ROOT / "guardrails", folder)
    path = folder / name
    policy = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(policy)
    path.write_text(yaml.safe_dump(policy, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


def rule(policy: Policy, rule_id: str) -> Policy:
    return next(r for r in policy["rules"] if r["id"] == rule_id)


def refusal(folder: Path) -> str:
    with pytest.raises(PolicyError) as raised:
        load_policy(folder)
    return str(raised.value)


def test_the_real_policy_loads_with_its_rails_in_the_order_written() -> None:
    input_policy, output_policy = load_policy(ROOT / "guardrails")
    assert input_policy.rails == ["pii", "injection", "handoff", "off_topic"]
    assert output_policy.rails == [
        "promised_return",
        "superlative",
        "untraceable_figure",
        "staff_content",
    ]
    assert output_policy.rule("superlative").id == "output.superlative"


# --------------------------------------------------------------------------- refused


def test_a_misspelt_family_is_refused_naming_the_rule(tmp_path: Path) -> None:
    def misspell(policy: Policy) -> None:
        rule(policy, "output.superlative")["family"] = "superlatve"

    message = refusal(copy_with(tmp_path, "output.yaml", misspell))
    assert f"{tmp_path / 'guardrails' / 'output.yaml'}: rule output.superlative" in message
    assert "unknown family 'superlatve'" in message
    assert "no rule has family superlative" in message
    assert issubclass(PolicyError, ConfigurationError)


def test_a_policy_without_a_required_family_is_refused(tmp_path: Path) -> None:
    def drop_staff_rule(policy: Policy) -> None:
        policy["rules"].remove(rule(policy, "output.staff_content"))

    message = refusal(copy_with(tmp_path, "output.yaml", drop_staff_rule))
    assert "output.yaml: no rule has family staff_content" in message


@pytest.mark.parametrize(
    ("name", "messages_of", "where"),
    [
        ("output.yaml", lambda p: rule(p, "output.superlative")["message"], "output.superlative"),
        ("output.yaml", lambda p: p["safe_answer"], "safe_answer"),
        ("output.yaml", lambda p: rule(p, "output.risk_disclosure")["disclosure"], "disclosure"),
        ("input.yaml", lambda p: p["injection"]["message"], "input.prompt_injection"),
        ("input.yaml", lambda p: p["pii"]["message"], "pii"),
    ],
    ids=["rule message", "safe answer", "risk disclosure", "injection message", "pii message"],
)
def test_a_user_facing_text_without_traditional_chinese_is_refused(
    tmp_path: Path, name: str, messages_of: Callable[[Policy], Policy], where: str
) -> None:
    message = refusal(copy_with(tmp_path, name, lambda p: messages_of(p).pop("zh-TW")))
    assert f"{name}: " in message and where in message
    assert "has no zh-TW text" in message


def test_a_pattern_that_does_not_compile_is_refused_naming_rule_and_pattern(
    tmp_path: Path,
) -> None:
    def unbalance(policy: Policy) -> None:
        rule(policy, "output.superlative")["patterns"][1] = "(best"

    path = tmp_path / "guardrails" / "output.yaml"
    assert refusal(copy_with(tmp_path, "output.yaml", unbalance)) == (
        f"{path}: rule output.superlative: pattern 2 does not compile "
        "(missing ), unterminated subpattern at position 0)"
    )


@pytest.mark.parametrize(
    ("name", "change", "where"),
    [
        (
            "input.yaml",
            lambda p: p["injection"]["indicators"][0].update(pattern="[ab"),
            "rule input.prompt_injection: indicator 1",
        ),
        (
            "input.yaml",
            lambda p: p["handoff"]["kinds"].update(complaint="投诉("),
            "rule input.handoff: kind complaint",
        ),
        ("input.yaml", lambda p: p["pii"].update(lead_in="(?:我的"), "pii: lead_in"),
        (
            "output.yaml",
            lambda p: rule(p, "output.staff_content")["topics"].append("*内部"),
            "rule output.staff_content: topic 5",
        ),
        (
            "output.yaml",
            lambda p: rule(p, "output.risk_disclosure")["required"].update(en="(risk"),
            "rule output.risk_disclosure: required en",
        ),
        (
            "output.yaml",
            lambda p: p["negation"].update(prohibition="不得|("),
            "negation: prohibition",
        ),
    ],
    ids=["indicator", "handoff kind", "pii lead-in", "staff topic", "required warning", "negation"],
)
def test_every_kind_of_pattern_is_compiled_when_the_policy_loads(
    tmp_path: Path, name: str, change: Callable[[Policy], object], where: str
) -> None:
    message = refusal(copy_with(tmp_path, name, change))
    assert f"{name}: {where} does not compile (" in message


def test_input_rails_that_do_not_start_with_pii_are_refused(tmp_path: Path) -> None:
    def injection_first(policy: Policy) -> None:
        policy["rails"] = ["injection", "pii", "handoff", "off_topic"]

    message = refusal(copy_with(tmp_path, "input.yaml", injection_first))
    assert "input.yaml: rails: the first rail is injection; put pii first" in message


@pytest.mark.parametrize(
    ("name", "rails", "unknown"),
    [
        ("input.yaml", ["pii", "injection", "handof", "off_topic"], "handof"),
        (
            "output.yaml",
            ["promised_return", "superlative", "untraceable_figure", "missing_disclosure"],
            "missing_disclosure",  # checked over the whole reply, not sentence by sentence
        ),
    ],
)
def test_an_unknown_rail_is_refused(
    tmp_path: Path, name: str, rails: list[str], unknown: str
) -> None:
    message = refusal(copy_with(tmp_path, name, lambda p: p.update(rails=rails)))
    assert f"{name}: rails: unknown rail {unknown!r}" in message


def test_rails_are_an_order_not_a_switch_so_none_may_be_left_out(tmp_path: Path) -> None:
    def without_staff_rail(policy: Policy) -> None:
        policy["rails"].remove("staff_content")

    message = refusal(copy_with(tmp_path, "output.yaml", without_staff_rail))
    assert "output.yaml: rails: staff_content is missing" in message


# --------------------------------------------------------------------------- order is data


def test_the_output_verdicts_follow_the_order_of_the_rails(tmp_path: Path) -> None:
    draft = "本产品保本，利率全市最高。"
    real = OutputGuard(load_policy(ROOT / "guardrails")[1])
    assert real.inspect(draft, [], "customer").rules == [
        "output.promised_return",
        "output.superlative",
    ]

    def superlative_first(policy: Policy) -> None:
        policy["rails"][:2] = ["superlative", "promised_return"]

    reordered = OutputGuard(load_policy(copy_with(tmp_path, "output.yaml", superlative_first))[1])
    assert reordered.inspect(draft, [], "customer").rules == [
        "output.superlative",
        "output.promised_return",
    ]


def test_the_first_input_rail_that_matches_decides(tmp_path: Path) -> None:
    message = "转人工，帮我推荐一只会涨的股票"
    assert InputGuard(load_policy(ROOT / "guardrails")[0]).inspect(message).action == "handoff"

    def off_topic_first(policy: Policy) -> None:
        policy["rails"] = ["pii", "injection", "off_topic", "handoff"]

    reordered = InputGuard(load_policy(copy_with(tmp_path, "input.yaml", off_topic_first))[0])
    result = reordered.inspect(message)
    assert result.action == "block" and result.rules == ["input.off_topic"]
