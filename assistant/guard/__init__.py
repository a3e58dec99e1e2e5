"""The compliance guardrail: the policy in guardrails/*.yaml applied to every message
(`InputGuard`) and every reply draft (`OutputGuard`) before anyone sees it."""

from pathlib import Path

from assistant.guard.figures import SourceFigures, figures
from assistant.guard.input import InputGuard
from assistant.guard.output import KnowledgeView, OutputGuard, SourceDocument, says_nothing
from assistant.guard.policy import (
    InputPolicy,
    OutputPolicy,
    OutputRule,
    PolicyError,
    load_policy,
)
from assistant.guard.semantic import Embed, Exemplars, SemanticRail
from assistant.guard.verdicts import Action, GuardResult, Screened, Verdict, most_severe


def load_guards(directory: Path, embed: Embed | None = None) -> tuple[InputGuard, OutputGuard]:
    """Both guards from the policy in `directory`; with an embedder, each also reads the
    meaning of what it checks against the exemplars there."""
    input_policy, output_policy = load_policy(directory)
    if embed is None:
        return InputGuard(input_policy), OutputGuard(output_policy)
    exemplars = Exemplars.load(directory / "exemplars.yaml")
    return (
        InputGuard(input_policy, SemanticRail(exemplars.input, exemplars, embed)),
        OutputGuard(output_policy, SemanticRail(exemplars.output, exemplars, embed)),
    )

__all__ = [
    "Action",
    "Embed",
    "Exemplars",
    "GuardResult",
    "InputGuard",
    "InputPolicy",
    "KnowledgeView",
    "OutputGuard",
    "OutputPolicy",
    "OutputRule",
    "PolicyError",
    "Screened",
    "SemanticRail",
    "SourceDocument",
    "SourceFigures",
    "Verdict",
    "figures",
    "load_guards",
    "load_policy",
    "most_severe",
    "says_nothing",
]
