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
from assistant.guard.semantic import Classifier, Embed, SemanticRail
from assistant.guard.verdicts import Action, GuardResult, Screened, Verdict, most_severe
from assistant.search.embeddings import Embedder, load_embedder

# The trained classifiers, by the side they read (built by `assistant guard train`).
CLASSIFIERS = {"input": "classifiers/input.json", "output": "classifiers/output.json"}


def load_guards(
    directory: Path, embedder: Embedder | None = None
) -> tuple[InputGuard, OutputGuard]:
    """Both guards from the policy in `directory`; with an embedder, each also reads the
    meaning of what it checks with the classifier trained for its side. A classifier
    trained on another model's vectors reads through that model, loaded beside the
    assistant's own, since another model's vectors mean nothing to it."""
    input_policy, output_policy = load_policy(directory)
    if embedder is None:
        return InputGuard(input_policy), OutputGuard(output_policy)
    rails = {}
    for side, name in CLASSIFIERS.items():
        classifier = Classifier.load(directory / name)
        reader = embedder
        if classifier.embedder != embedder.name:
            reader = load_embedder(classifier.embedder, embedder.threads)
        if classifier.dimension != reader.dimension:
            raise PolicyError(
                f"{directory / name}: trained on {classifier.dimension}-dimensional vectors, "
                f"but {reader.name} gives {reader.dimension}; rebuild it with "
                "`assistant guard train`"
            )
        rails[side] = SemanticRail(classifier, reader.embed_passages)
    return InputGuard(input_policy, rails["input"]), OutputGuard(output_policy, rails["output"])


__all__ = [
    "CLASSIFIERS",
    "Action",
    "Classifier",
    "Embed",
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
