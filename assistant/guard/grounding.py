"""Grounding of a reply written in a model's own words, sentence by sentence, before the
output rails see it: each sentence cites at least one passage it was given, and every figure,
product name and term it states occurs in the passages it cites. A sentence that fails is
removed, never released; the verdict says which and why.

A sentence the writer left without a marker is attributed to the one passage that states
it (nearly all of its words, every figure and name), and cited as that passage; a sentence
no passage states is removed. Quoted drafts (the extractive composer, the bank's own
wording) are grounded by construction and skip this stage."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from assistant.guard.figures import MARKER, SourceFigures
from assistant.guard.verdicts import Verdict
from assistant.search.glossary import Glossary, uses_word
from assistant.text import content_terms, fold, sentences_in, unknown_nouns

_CITED = re.compile(r"\[(\d+)\]")
# A line that only introduces what follows ("所需材料：", "Steps:") asserts nothing.
_LEAD_IN = re.compile(r"^[^\d\[\]]{1,30}[：:]\s*$")
_TRAILING = re.compile(r"[。！？!?；;.,，\s]*$")
_BASIS = "an answer states only what the passages it cites say"
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LATIN_WORD = re.compile(r"[a-z0-9][a-z0-9.%]*")
# At most this many letters: a bare yes or no ("可以。", "不能", "Yes.").
_BARE = 4


@dataclass(frozen=True)
class Evidence:
    """What a writer was shown: the passages by the numbers it cites them with, the question
    it answered, and which words no document of the index uses."""

    passages: Mapping[int, str]
    question: str = ""
    unknown: Callable[[str], bool] = lambda _: False


@dataclass(frozen=True)
class Grounding:
    """The names and terms a sentence may state only when its cited passages do (the
    glossary's words, each with the other names of the same thing), and how much of an
    unmarked sentence's wording a passage must hold to be cited for it."""

    glossary: Glossary
    attribution: float = 0.6

    def checked(
        self, sentences: Iterable[str], evidence: Evidence, verdicts: list[Verdict]
    ) -> Iterator[str]:
        """The sentences that hold, each citing its passage; a verdict for each removed."""
        passages = evidence.passages
        held = ""
        for piece in sentences_in(sentences):
            if not re.search(r"\w", MARKER.sub("", piece)):
                continue  # a marker alone says nothing, and is not released as an answer
            sentence, held = held + piece, ""
            lead_in = bool(_LEAD_IN.match(sentence.strip()))
            if not _CITED.search(sentence) and not lead_in and _bare_verdict(sentence):
                held = sentence  # "不能。" stands or falls with the reason that follows
                continue
            if not _CITED.search(sentence) and not lead_in:
                sentence = self.attributed(sentence, passages)
            elif self.problem(sentence, passages):
                sentence = self.recited(sentence, passages)
            problem = (
                self.problem(sentence, passages)
                or _undocumented(sentence, evidence.unknown)
                or (None if lead_in else _restates(sentence, evidence))
            )
            if problem is None:
                yield sentence
            else:
                reason = f"sentence removed: {problem}"
                verdicts.append(Verdict("grounding", "rewrite", reason, _BASIS, sentence.strip()))
        if held:
            reason = "sentence removed: a bare yes or no with nothing after it"
            verdicts.append(Verdict("grounding", "rewrite", reason, _BASIS, held.strip()))

    def problem(self, sentence: str, passages: Mapping[int, str]) -> str | None:
        """Why a sentence may not be released on the strength of the passages it cites
        (numbered as the writer was shown them), or None."""
        cited = {int(n) for n in _CITED.findall(sentence)}
        if not cited:
            return None if _LEAD_IN.match(sentence.strip()) else "no passage states it"
        unknown = sorted(cited - passages.keys())
        if unknown:
            return f"it cites [{unknown[0]}], which it was not given"
        evidence = "\n".join(passages[n] for n in sorted(cited))
        missing = SourceFigures.of([evidence]).untraceable(sentence, set())
        if missing:
            return f"the cited passages do not state {', '.join(missing)}"
        names = self.unsupported_names(MARKER.sub("", sentence), evidence)
        if names:
            return f"the cited passages do not name {', '.join(names)}"
        return None

    def attributed(self, sentence: str, passages: Mapping[int, str]) -> str:
        """The sentence citing the passage that holds most of its words, when that passage
        holds at least `attribution` of them; else unchanged (and so removed)."""
        words = shingles(sentence)
        if not words:
            return sentence
        share = {n: len(words & shingles(text)) / len(words) for n, text in passages.items()}
        best = max(share, key=lambda n: share[n], default=None)
        if best is None or share[best] < self.attribution:
            return sentence
        body = _TRAILING.sub("", sentence)
        return f"{body}[{best}]{sentence[len(body):]}"

    def recited(self, sentence: str, passages: Mapping[int, str]) -> str:
        """A sentence its cited passages do not bear out, citing instead the one passage
        that states it, when one does (a writer may mistake [2] for [3]); else unchanged."""
        bare = _CITED.sub("", sentence)
        moved = self.attributed(bare, passages)
        return moved if moved != bare and self.problem(moved, passages) is None else sentence

    def unsupported_names(self, sentence: str, evidence: str) -> list[str]:
        """Glossary words the sentence uses whose thing the evidence never names, by any
        of its names."""
        said, shown = fold(sentence), fold(evidence)
        missing = []
        for group in self.glossary.groups:
            used = [word for word in group if uses_word(said, word)]
            if used and not any(uses_word(shown, word) for word in group):
                missing.append(used[0])
        return missing


def shingles(text: str) -> set[str]:
    """What a sentence says, as a paraphrase keeps it: the character pairs of its Chinese
    (jieba's words split differently in a reworded sentence), its Latin words and numbers."""
    folded = fold(MARKER.sub(" ", text))
    pairs = {run[i : i + 2] for run in _CJK_RUN.findall(folded) for i in range(len(run) - 1)}
    singles = {run for run in _CJK_RUN.findall(folded) if len(run) == 1}
    return pairs | singles | set(_LATIN_WORD.findall(folded))


def _bare_verdict(sentence: str) -> bool:
    letters = re.findall(r"\w", MARKER.sub("", sentence))
    english = sentence.isascii()
    return 0 < (len(sentence.split()) if english else len(letters)) <= (2 if english else _BARE)


def _undocumented(sentence: str, unknown: Callable[[str], bool]) -> str | None:
    """A Chinese noun no document uses names something the bank never documented: the
    writer took it from the question (火星基地) or made it up."""
    novel = [noun for noun in unknown_nouns(MARKER.sub("", sentence)) if unknown(noun)]
    return f"no document names {', '.join(novel)}" if novel else None


def _restates(sentence: str, evidence: Evidence) -> str | None:
    """A sentence that adds nothing its passages say to the question's own words ("Yes, you
    can open a joint account" to "can I open a joint account?") does not answer it."""
    if not evidence.question:
        return None
    added = content_terms(MARKER.sub(" ", sentence)) - content_terms(evidence.question)
    cited = [evidence.passages[int(n)] for n in _CITED.findall(sentence)]
    stated = set().union(*(content_terms(text) for text in cited)) if cited else set()
    return None if added & stated else "it only restates the question"
