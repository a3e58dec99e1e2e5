"""Grounding of a reply written in a writer's own words (a language model's), sentence by
sentence, before the output rails see it. A sentence is released only when the passages it
cites bear it out:

- it cites at least one passage it was given; a sentence left without a marker is cited as
  the one passage that states it (most of its wording, read as character pairs), and a
  sentence that cites the wrong one is cited as the right one, when one does;
- every figure (rate against term included), glossary name and term it states occurs in
  the passages it cites, and it names nothing no document names;
- it does not deny what its passage affirms, or affirm what it denies (negation agrees with
  the passage sentence it restates);
- it adds something its passage says to the question's own words.

A bare yes or no, and a line that only introduces what follows ("所需材料："), stand or fall
with the next sentence. A sentence that fails is removed, never released; the verdict says
why. Quoted drafts (the extractive composer, the bank's own wording) skip this stage."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from assistant.guard.figures import MARKER, SourceFigures
from assistant.guard.verdicts import Verdict
from assistant.search.glossary import Glossary, uses_word
from assistant.text import content_terms, fold, sentences_in, unknown_nouns

_CITED = re.compile(r"\[(\d+)\]")
# A line that only introduces what follows ("所需材料：", "Steps:").
_LEAD_IN = re.compile(r"^[^\d\[\]]{1,30}[：:]\s*$")
_TRAILING = re.compile(r"[。！？!?；;.,，\s]*$")
# A sentence that is itself a question ("收不收货币转换费", "是否", "吗", "?").
_ASKS = re.compile(r"([\u4e00-\u9fff])不\1|是否|吗|么[？?。]?$|[?？]")
_CLAUSE = re.compile(r"[，,；;。！？!?\n]")
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
class Negators:
    """Words that deny (the output policy's negation lists), and words that begin like one
    but do not (不仅)."""

    words: Sequence[str] = ()
    not_negation: Sequence[str] = ()

    def polarity(self, text: str) -> int:
        """1 when the text denies (an odd number of denials), else 0."""
        folded = fold(text)
        for word in self.not_negation:
            folded = folded.replace(word, " ")
        chinese = [w for w in self.words if not w.isascii()]
        english = [w for w in self.words if w.isascii()]
        count = 0
        if chinese:  # the longest first, so that 不得 counts once, not as 不 and 不得
            longest_first = sorted(chinese, key=len, reverse=True)
            count += len(re.findall("|".join(map(re.escape, longest_first)), folded))
        for word in english:
            count += len(re.findall(rf"(?<![a-z']){re.escape(word)}(?![a-z'])", folded))
        return count % 2


@dataclass(frozen=True)
class Grounding:
    """The names and terms a sentence may state only when its cited passages do (the
    glossary's words, each with the other names of the same thing), the words that deny,
    and how much of a sentence's wording a passage must hold to be cited for it."""

    glossary: Glossary
    attribution: float = 0.6
    negators: Negators = Negators()

    def checked(
        self, sentences: Iterable[str], evidence: Evidence, verdicts: list[Verdict]
    ) -> Iterator[str]:
        """The sentences that hold, each citing its passage; a verdict for each removed."""
        pending = ""  # a bare yes or no, a lead-in: released with the next sentence that holds
        for piece in sentences_in(sentences):
            if not re.search(r"\w", MARKER.sub("", piece)):
                continue  # a marker alone says nothing, and is not released as an answer
            uncited = not _CITED.search(piece)
            if uncited and (_LEAD_IN.match(piece.strip()) or _bare_verdict(piece)):
                pending += piece
                continue
            sentence = self.cited(piece, evidence.passages)
            problem = self.problem(sentence, evidence)
            if problem is None:
                yield pending + sentence
                pending = ""
            else:
                verdicts.append(_removed(problem, sentence))
        if pending:
            verdicts.append(_removed("nothing after it held", pending))

    def cited(self, sentence: str, passages: Mapping[int, str]) -> str:
        """The sentence citing the passage that states it: as the writer cited it when that
        passage bears it out, else the one passage that holds most of its wording (at least
        `attribution` of it), else as written (and so removed)."""
        if _CITED.search(sentence) and self._unsupported(sentence, passages) is None:
            return sentence
        bare = _CITED.sub("", sentence)
        words = shingles(bare)
        if not words:
            return sentence
        share = {n: len(words & shingles(text)) / len(words) for n, text in passages.items()}
        best = max(share, key=lambda n: share[n], default=None)
        if best is None or share[best] < self.attribution:
            return sentence
        body = _TRAILING.sub("", bare)
        moved = f"{body}[{best}]{bare[len(body) :]}"
        return moved if self._unsupported(moved, passages) is None else sentence

    def problem(self, sentence: str, evidence: Evidence) -> str | None:
        """Why a sentence may not be released on the strength of the passages it cites
        (numbered as the writer was shown them), or None."""
        return (
            self._unsupported(sentence, evidence.passages)
            or _restates(sentence, evidence)
            or self._contradicts(sentence, evidence.passages)
            or _undocumented(sentence, evidence.unknown)
        )

    def _unsupported(self, sentence: str, passages: Mapping[int, str]) -> str | None:
        cited = {int(n) for n in _CITED.findall(sentence)}
        if not cited:
            return "no passage states it"
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

    def _contradicts(self, sentence: str, passages: Mapping[int, str]) -> str | None:
        """A clause whose closest clause in the cited passages (the most wording in common)
        denies what it affirms, or affirms what it denies."""
        cited = [passages[int(n)] for n in _CITED.findall(sentence) if int(n) in passages]
        candidates = [c for text in cited for c in _CLAUSE.split(text) if c.strip()]
        for clause in _CLAUSE.split(MARKER.sub("", sentence)):
            words = shingles(clause)
            if len(words) < 3 or not candidates:
                continue
            closest = max(candidates, key=lambda c: len(words & shingles(c)))
            if self.negators.polarity(clause) != self.negators.polarity(closest):
                return "it says the opposite of the passage it cites"
        return None

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


def _removed(problem: str, sentence: str) -> Verdict:
    return Verdict("grounding", "rewrite", f"sentence removed: {problem}", _BASIS, sentence.strip())


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
    """A sentence that repeats the question ("标准卡在国外刷卡收不收货币转换费") or adds to its
    words nothing its passage says does not answer it; a yes-or-no answer its passage
    states in the question's words ("大额存单可以转让") does."""
    if not evidence.question:
        return None
    said = content_terms(MARKER.sub(" ", sentence))
    cited = [
        evidence.passages[int(n)] for n in _CITED.findall(sentence) if int(n) in evidence.passages
    ]
    stated = set().union(*(content_terms(text) for text in cited)) if cited else set()
    if (said - content_terms(evidence.question)) & stated:
        return None
    borne_out = len(said & stated) / len(said) if said else 0.0
    if _ASKS.search(MARKER.sub("", sentence)) or borne_out < 0.6:
        return "it only restates the question"
    return None
