"""What a question is about, read from the catalogue itself: the documents' titles, their
English twins, and the glossary's other names for what a title names.

A question that names a product (大额存单, the standard credit card) may only be answered
from that product's documents or from general documents (policies, procedures); one that
names a policy or a procedure, only from its own documents. Another product's sheet never
answers it, however close
its wording: that is how "does the CD roll over?" came to be answered with the time
deposit's rollover rule, cited. A question that names nothing in particular is not narrowed.

Names come from titles: every word of a title is a name of the documents whose titles use
it, except the bank's own name and document-type words (`title_boilerplate` in the
glossary), and words so common across titles that they name no product in particular
(`generic_title_share`). A question's subject is what all the names it uses have in common
("standard" and "credit card": the standard credit card); names with nothing in common
(a comparison of two products) each keep their most specific documents.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.content import parse_yaml
from assistant.search.catalog import DocumentRecord, IndexedChunk
from assistant.search.glossary import Glossary, GlossaryError, uses_word
from assistant.text import fold, tokenize

ENGLISH_TWIN = "-en"


@dataclass(frozen=True)
class Subject:
    """The documents a question is about, and the names it called them by. Empty: the
    question names no document in particular, and every passage may answer it."""

    documents: frozenset[str] = frozenset()
    names: tuple[str, ...] = ()
    products: frozenset[str] = frozenset()
    # Whether a general document's passage must name the subject itself to answer.
    general_must_name: bool = False

    def __bool__(self) -> bool:
        return bool(self.documents)

    def admits(self, chunk: IndexedChunk) -> bool:
        """Whether a passage may answer. For a question about a product: any but another
        product's sheet, since general documents (policies, procedures) speak across
        products (the tier rules say who may buy a product whose sheet does not). For a
        question about a named policy or procedure (开户, the complaints process): only its
        own documents, not another rule that happens to share the question's words."""
        if not self.documents or chunk.doc_id in self.documents:
            return True
        if not self.products:
            return False
        if chunk.kind == "product":
            return False
        if not self.general_must_name:
            return True
        text = fold(f"{chunk.title} {chunk.section} {chunk.text}")
        return any(uses_word(text, name) for name in self.names)


@dataclass(frozen=True)
class TitleRules:
    """How titles become names; content kept in the glossary file."""

    boilerplate: frozenset[str] = frozenset()
    # A word in more than this share of the titles names no product in particular.
    generic_share: float = 0.2
    # A title word names its documents only when at least this share of the passages that
    # use it are theirs: 大额存单 is the CD sheets' word, 利率 (rate) belongs to no one.
    ownership: float = 0.5

    @classmethod
    def load(cls, path: Path) -> TitleRules:
        data = parse_yaml(path.read_text(encoding="utf-8")) if path.exists() else {}
        data = data if isinstance(data, dict) else {}
        words = data.get("title_boilerplate", [])
        shares = [data.get(key, 0.5) for key in ("generic_title_share", "title_ownership")]
        if not isinstance(words, list) or not all(
            isinstance(v, int | float) and 0 < v <= 1 for v in shares
        ):
            raise GlossaryError(
                f"{path}: title_boilerplate must be a list of words, generic_title_share and "
                "title_ownership shares between 0 and 1"
            )
        return cls(frozenset(fold(str(word)) for word in words), *map(float, shares))


class SubjectCatalogue:
    def __init__(
        self,
        documents: Mapping[str, DocumentRecord],
        chunks: Sequence[IndexedChunk],
        glossary: Glossary,
        rules: TitleRules,
    ) -> None:
        self._kinds = {doc_id: str(r.meta.get("kind", "")) for doc_id, r in documents.items()}
        self._glossary = glossary
        self._twins = _twins(documents)
        titles = {doc_id: fold(str(r.meta.get("title", ""))) for doc_id, r in documents.items()}
        specific = _specific_to(titles, rules)
        words = {name: d for name, d in _title_words(titles, rules).items() if specific(d)}
        self._named = _owned(words, chunks, rules.ownership) | {
            name: docs for name, docs in _glossary_names(titles, glossary).items() if specific(docs)
        }

    def of(self, question: str) -> Subject:
        """The subject of a question; empty when it names no document in particular."""
        folded = fold(question)
        used = {
            name: documents for name, documents in self._named.items() if uses_word(folded, name)
        }
        if not used:
            return Subject()
        named_products = {
            name: products
            for name, docs in used.items()
            if (products := frozenset(d for d in docs if self._kinds.get(d) == "product"))
        }
        if named_products:
            # What a question names as a product decides: a policy that shares one of its
            # words (大额存单 in the CD pricing rules) joins, it does not take over.
            documents = _in_common(named_products.values())
            documents |= frozenset.intersection(*used.values())
        else:
            documents = _in_common(used.values())
        documents = self._with_twins(documents)
        names = tuple(name for name, docs in used.items() if docs & documents)
        names += tuple(self._glossary.other_names(" ".join(names)))
        products = frozenset(d for d in documents if self._kinds.get(d) == "product")
        return Subject(documents, names, products)

    def _with_twins(self, documents: Iterable[str]) -> frozenset[str]:
        return frozenset(d for doc_id in documents for d in self._twins.get(doc_id, (doc_id,)))


def _in_common(named: Iterable[frozenset[str]]) -> frozenset[str]:
    """What every name names; when they name nothing in common (two products compared),
    what each of the most specific names names."""
    sets = list(named)
    common = frozenset.intersection(*sets)
    if common:
        return common
    return frozenset().union(*(docs for docs in sets if not any(other < docs for other in sets)))


def _owned(
    named: Mapping[str, frozenset[str]], chunks: Sequence[IndexedChunk], ownership: float
) -> dict[str, frozenset[str]]:
    """The names most of whose passages belong to the documents they name."""
    texts = [(chunk.doc_id, fold(f"{chunk.section} {chunk.text}")) for chunk in chunks]
    owned: dict[str, frozenset[str]] = {}
    for name, documents in named.items():
        # `in` first: most passages do not hold the name, and it is far cheaper to ask.
        users = [doc_id for doc_id, text in texts if name in text and uses_word(text, name)]
        # An English title word is an everyday word (private, gold, large) unless no other
        # document uses it (Xianjin, Fengli); Chinese title words are compounds already.
        needed = 1.0 if name.isascii() else ownership
        if not users or sum(d in documents for d in users) >= needed * len(users):
            owned[name] = documents
    return owned


def _title_words(titles: Mapping[str, str], rules: TitleRules) -> dict[str, frozenset[str]]:
    """Each word of the titles, with the documents whose titles use it."""
    named: defaultdict[str, set[str]] = defaultdict(set)
    for doc_id, title in titles.items():
        for token in tokenize(title):
            if _namelike(token) and token not in rules.boilerplate:
                named[token].add(doc_id)
    return {name: frozenset(docs) for name, docs in named.items()}


def _glossary_names(titles: Mapping[str, str], glossary: Glossary) -> dict[str, frozenset[str]]:
    """Each word of a glossary group, with the documents whose titles use any of the group's
    words: a question may call a product by any of its names, in either language."""
    named: defaultdict[str, set[str]] = defaultdict(set)
    for group in glossary.groups:
        documents = {d for d, title in titles.items() if any(uses_word(title, w) for w in group)}
        for word in group:
            named[word] |= documents
    return {name: frozenset(docs) for name, docs in named.items() if docs}


def _specific_to(titles: Mapping[str, str], rules: TitleRules) -> Callable[[frozenset[str]], bool]:
    """Whether a name's documents are few enough (of all the titles' families) to name a
    product in particular."""
    limit = max(2, rules.generic_share * len({_family(d) for d in titles}))
    return lambda documents: len({_family(d) for d in documents}) <= limit


def _namelike(token: str) -> bool:
    return len(token) >= 3 if token.isascii() else len(token) >= 2


def _family(doc_id: str) -> str:
    return doc_id.removesuffix(ENGLISH_TWIN)


def _twins(documents: Mapping[str, DocumentRecord]) -> dict[str, tuple[str, ...]]:
    """A document and its other-language version (`x` and `x-en`)."""
    families: defaultdict[str, list[str]] = defaultdict(list)
    for doc_id in documents:
        families[_family(doc_id)].append(doc_id)
    return {doc_id: tuple(families[_family(doc_id)]) for doc_id in documents}
