"""Meaning, not only patterns: a sentence is compared with the labelled examples in
guardrails/exemplars.yaml by the embedding model the assistant already has loaded. A
sentence much closer to a rule's examples than to any acceptable example breaks that rule,
though no pattern matched: 跌了银行会补给您 is a promise of the kind 银行会兜底 is, in words no
pattern lists."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from assistant.guard.policy import PolicyError

# Texts to unit vectors, one row per text (the assistant's embedder).
Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Exemplars:
    threshold: float
    margin: float
    output: dict[str, list[str]]
    input: dict[str, list[str]]

    @classmethod
    def load(cls, path: Path) -> Exemplars:
        try:
            data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
            exemplars = cls(
                float(data["threshold"]),
                float(data["margin"]),
                {str(k): [str(t) for t in v] for k, v in data["output"].items()},
                {str(k): [str(t) for t in v] for k, v in data["input"].items()},
            )
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as e:
            raise PolicyError(f"{path}: not a valid exemplar file ({e})") from None
        for side in (exemplars.output, exemplars.input):
            if not side.get("acceptable"):
                raise PolicyError(f"{path}: each side needs `acceptable` examples to compare with")
        return exemplars


class SemanticRail:
    """The rules a sentence breaks by meaning, for one side (input or output)."""

    def __init__(self, labelled: dict[str, list[str]], exemplars: Exemplars, embed: Embed):
        self._embed = embed
        self._threshold = exemplars.threshold
        self._margin = exemplars.margin
        self._acceptable = embed(labelled["acceptable"])
        self._rules = {rule: embed(texts) for rule, texts in labelled.items() if texts}
        self._rules.pop("acceptable")
        self._vector = lru_cache(maxsize=8192)(self._embed_one)

    def _embed_one(self, text: str) -> np.ndarray:
        return self._embed([text])[0]

    def breaks(self, sentence: str) -> str | None:
        """The rule `sentence` breaks by meaning, if it clearly does."""
        vector = self._vector(sentence)
        acceptable = float(np.max(self._acceptable @ vector))
        closest = {rule: float(np.max(vectors @ vector)) for rule, vectors in self._rules.items()}
        rule, similarity = max(closest.items(), key=lambda item: item[1])
        if similarity >= self._threshold and similarity - acceptable >= self._margin:
            return rule
        return None
