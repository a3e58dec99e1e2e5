"""A generator that writes in its own words, as a language model does, and slips as one
can: it restates the best passage's first sentence without a citation marker, then adds a
sentence with that sentence's first figure doubled and one about a product the passage
never names. Importing this module registers it as `own-words`."""

from __future__ import annotations

import re

from assistant.answer.generator import (
    Draft,
    DraftStream,
    GenerationInput,
    GeneratorContext,
    citation_of,
    generators,
)
from assistant.text import split_sentences


class OwnWords:
    name = "own-words"

    def generate(self, request: GenerationInput) -> Draft:
        chunk = request.passages[0].chunk
        sentence = split_sentences(chunk.text)[0].rstrip("。")
        doubled = re.sub(r"\d+", lambda m: str(int(m.group()) * 2), sentence, count=1)
        text = f"{sentence}。\n另外，{doubled}[1]。\n白金信用卡也一样[1]。"
        return Draft(text, [citation_of(1, chunk)], grounded=True, quoted=False)

    def stream(self, request: GenerationInput) -> DraftStream:
        draft = self.generate(request)
        pieces = [draft.text[i : i + 4] for i in range(0, len(draft.text), 4)]
        return DraftStream(draft.citations, True, iter(pieces), quoted=False)


@generators.register("own-words")
def own_words(_: GeneratorContext) -> OwnWords:
    return OwnWords()
