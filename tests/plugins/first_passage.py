"""A small generator a plugin author might write: it answers with the first sentence of the
best passage, cited as [1], and declines when retrieval found nothing. Importing this module
registers it as `first-passage`."""

from __future__ import annotations

from assistant.answer.generator import (
    Draft,
    DraftStream,
    GenerationInput,
    GeneratorContext,
    citation_of,
    generators,
)
from assistant.text import split_sentences

DECLINE = "No passage answers this."


class FirstPassage:
    name = "first-passage"

    def generate(self, request: GenerationInput) -> Draft:
        if not request.passages:
            return Draft(DECLINE, grounded=False)
        chunk = request.passages[0].chunk
        sentence = split_sentences(chunk.text)[0]
        return Draft(f"{sentence}[1]", [citation_of(1, chunk)], grounded=True)

    def stream(self, request: GenerationInput) -> DraftStream:
        draft = self.generate(request)
        # Word by word, as a language model would stream its tokens.
        pieces = [draft.text[i : i + 3] for i in range(0, len(draft.text), 3)]
        return DraftStream(draft.citations, draft.grounded, iter(pieces))


@generators.register("first-passage")
def first_passage(_: GeneratorContext) -> FirstPassage:
    return FirstPassage()
