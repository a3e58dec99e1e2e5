"""The compliance guardrail: the policy in guardrails/*.yaml applied to every message
(`InputGuard`) and every reply draft (`OutputGuard`) before anyone sees it."""

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
from assistant.guard.verdicts import Action, GuardResult, Screened, Verdict, most_severe

__all__ = [
    "Action",
    "GuardResult",
    "InputGuard",
    "InputPolicy",
    "KnowledgeView",
    "OutputGuard",
    "OutputPolicy",
    "OutputRule",
    "PolicyError",
    "Screened",
    "SourceDocument",
    "SourceFigures",
    "Verdict",
    "figures",
    "load_policy",
    "most_severe",
    "says_nothing",
]
