"""YAML content (policies, rules, word lists, prompts, documents' front matter), parsed by
libyaml where PyYAML was built with it: several times faster than the pure-Python parser,
which every command paid at start-up."""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """Plain data from YAML text (no tags that build objects); raises yaml.YAMLError."""
    return yaml.load(text, Loader=_LOADER)
