"""What the teller console shows, as pure functions from a turn to Markdown: an answer whose
[n] open the cited passage, the sources each answer keeps, the suggestions for a customer,
and the profile form's checks. The words are the content team's (prompts/console.yaml)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from pydantic import ValidationError

from assistant.advice.advisor import Advice
from assistant.advice.rules import Product, Profile
from assistant.answer.generator import Citation
from assistant.channels.console_access import CONSOLE_PATH
from assistant.content import parse_yaml
from assistant.errors import ConfigurationError

WORDING_FILE = "console.yaml"
DOCUMENTS_PATH = f"{CONSOLE_PATH}/documents"
# The console speaks Chinese unless the browser asks for English.
CONSOLE_LANGUAGES = ("zh-CN", "en")
# Exclusions a teller need not read: products outside savings and investment (cards,
# loans) and sheets not in force are never candidates in the first place.
UNREMARKABLE_EXCLUSIONS = frozenset({"category", "effective_dates"})
# The longest plan a profile may state (Profile.horizon_months).
MAX_HORIZON_MONTHS = 600
# The shortest stretch of an answer that counts as quoted from a passage.
MIN_QUOTE_CHARS = 6
_MARKER = re.compile(r"\[(\d+)\]")
# A sentence with the markers that follow its full stop.
_SENTENCE = re.compile(r"[^。！？!?\n]+?(?:[。！？!?]|\.(?=\s|\[|$)|(?=\n)|$)(?:\s*\[\d+\])*")
_ATTRIBUTION = re.compile(r"^(根据|依据|據|根據)?《[^》]+》[：:，,]?\s*|^According to [^:]+:\s*")


@dataclass(frozen=True)
class ConsoleWording:
    texts: dict[str, Any]

    @classmethod
    def load(cls, prompts_dir: Path) -> ConsoleWording:
        path = prompts_dir / WORDING_FILE
        texts = parse_yaml(path.read_text(encoding="utf-8"))
        missing = [
            key
            for key, value in texts.items()
            if isinstance(value, dict)
            and key not in ("writers", "fields", "labels")
            and not all(lang in value for lang in CONSOLE_LANGUAGES)
        ]
        if missing:
            raise ConfigurationError(f"{path}: no zh-CN or en text for {', '.join(missing)}")
        return cls(texts)

    def __call__(self, key: str, language: str, **values: object) -> str:
        text = str(self.texts[key][language])
        return text.format(**values) if values else text

    def named(self, group: str, key: str, language: str) -> str:
        """A name from one of the wording's tables (writers, fields), or the key itself."""
        names = self.texts.get(group, {}).get(key)
        return str(names[language]) if names else key

    def label(self, key: str) -> str:
        """A label of the console's layout, which is built once, in Chinese."""
        return str(self.texts["labels"][key])

    @property
    def examples(self) -> list[str]:
        return [str(e) for e in self.texts["examples"]]

    @property
    def dislike_reasons(self) -> list[str]:
        return [str(r) for r in self.texts["dislike_reasons"]]


def label_language(answer_language: str) -> str:
    """The language of the labels around an answer: the answer's own."""
    return "en" if answer_language.startswith("en") else "zh-CN"


def console_language(accept_language: str | None) -> str:
    """English for a browser that prefers it; Chinese, the console's own, otherwise."""
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "zh-CN"


def cited_sentences(answer: str, n: int) -> list[str]:
    """The sentences of an answer that cite [n], without their markers and attribution."""
    sentences = _SENTENCE.findall(answer)
    return [
        _ATTRIBUTION.sub("", _MARKER.sub("", s)).strip()
        for s in sentences
        if f"[{n}]" in s and _MARKER.sub("", s).strip()
    ]


def quoted_span(passage: str, sentences: Iterable[str]) -> tuple[int, int] | None:
    """Where in the passage the answer quotes it: the longest stretch the two share, if it
    is long enough to be a quotation and not a shared word."""
    best: tuple[int, int] | None = None
    for sentence in sentences:
        match = SequenceMatcher(None, passage, sentence, autojunk=False).find_longest_match(
            0, len(passage), 0, len(sentence)
        )
        if match.size >= MIN_QUOTE_CHARS and (best is None or match.size > best[1] - best[0]):
            best = (match.a, match.a + match.size)
    return best


def document_link(citation: Citation, quote_text: str = "") -> str:
    query = {"chunk": citation.chunk_id}
    if quote_text:
        query["quote"] = quote_text[:200]
    return f"{DOCUMENTS_PATH}/{quote(citation.doc_id)}?{urlencode(query)}#passage"


def validity(citation: Citation, language: str, wording: ConsoleWording) -> str:
    end = citation.effective_to or wording("open_ended", language)
    return wording("validity", language, start=citation.effective_from or "—", end=end)


def is_internal(citations: Iterable[Citation]) -> bool:
    return any(c.audience == "staff" for c in citations)


def linked_answer(answer: str, citations: list[Citation]) -> str:
    """The answer with each [n] a link to the passage it cites; the rest escaped, so the
    answer's own text makes no link, image or HTML."""
    by_number = {c.n: c for c in citations}
    parts = _MARKER.split(answer)  # text, number, text, number, ..., text
    linked = []
    for i, part in enumerate(parts):
        citation = by_number.get(int(part)) if i % 2 else None
        if i % 2 == 0:
            linked.append(escape_answer(part))
        elif citation is None:
            linked.append(f"\\[{part}\\]")
        else:
            quoted = " ".join(cited_sentences(answer, citation.n))
            linked.append(f"[\\[{citation.n}\\]]({document_link(citation, quoted)})")
    return "".join(linked)


def message_markdown(
    answer: str, citations: list[Citation], language: str, wording: ConsoleWording
) -> str:
    """An answer as the chat shows it: marked internal when it rests on staff documents,
    its [n] linked, and its own sources listed under it, so every message keeps them."""
    parts = []
    if is_internal(citations):
        parts.append(f"**〔{wording('internal', language)}〕**")
    parts.append(linked_answer(answer, citations))
    if citations:
        listed = [
            f"[\\[{c.n}\\] {c.title}]({document_link(c)})"
            + (f" · {c.section}" if c.section else "")
            for c in citations
        ]
        parts.append(f"_{wording('sources_heading', language)}：_ " + "；".join(listed))
    return "\n\n".join(parts)


def sources_markdown(
    answer: str, citations: list[Citation], language: str, wording: ConsoleWording
) -> str:
    """The passages one answer cites, the sentence it quotes highlighted, each with a link
    that opens its document."""
    if not citations:
        return f"_{wording('no_sources', language)}_"
    blocks = []
    for c in citations:
        section = f" · {c.section}" if c.section else ""
        internal = f" · **{wording('internal', language)}**" if c.audience == "staff" else ""
        header = (
            f"**[{c.n}] {c.title}**{section}{internal}  \n"
            f"`{c.doc_id}` · {validity(c, language, wording)} · "
            f"[{wording('open_document', language)}]({document_link(c)})"
        )
        blocks.append(f"{header}\n\n> {highlighted(c.passage, cited_sentences(answer, c.n))}")
    return "\n\n".join(blocks)


def highlighted(passage: str, sentences: list[str]) -> str:
    """The passage as Markdown, the quoted stretch in <mark>; the passage's own text is
    escaped first, so nothing in a document becomes markup."""
    span = quoted_span(passage, sentences)
    if span is None:
        return escape_markdown(passage).replace("\n", "\n> ")
    start, end = span
    text = (
        escape_markdown(passage[:start])
        + "<mark>"
        + escape_markdown(passage[start:end])
        + "</mark>"
        + escape_markdown(passage[end:])
    )
    return text.replace("\n", "\n> ")


def escape_html(text: str) -> str:
    """Text in which nothing becomes an HTML element; Markdown (lists, bold) still reads."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_answer(text: str) -> str:
    """An answer's text with its lists, bold and tables, but no HTML, link or image."""
    return re.sub(r"([\\!\[\]<>])", r"\\\1", text.replace("&", "&amp;"))


def escape_markdown(text: str) -> str:
    """Text shown exactly as it is written: neither HTML nor Markdown."""
    return re.sub(r"([\\`*_\[\]#|])", r"\\\1", escape_html(text))


def writer_markdown(generator: str, configured: str, language: str, wording: ConsoleWording) -> str:
    """Which generator answered, and that another stood in when one did."""
    writer = wording.named("writers", generator, language)
    line = f"_{wording('written_by', language, writer=writer)}_"
    if generator and generator != configured:
        stood_in = wording.named("writers", configured, language)
        line += f"  \n_{wording('stood_in', language, configured=stood_in)}_"
    return line


def suggestions_markdown(
    advice: Advice | None,
    products: Mapping[str, Product],
    tier_name: str,
    language: str,
    wording: ConsoleWording,
) -> str:
    """Every product that fits, each with its own sheet to open; those that need a wealth
    manager; and, folded, why the other savings and investment products do not fit."""
    if advice is None:
        return f"_{wording('profile_hint', language)}_"
    lines = [f"**{wording('tier', language, tier=tier_name or advice.tier)}**"]
    if not advice.risk_assessment_valid:
        lines.append(f"> {wording('assessment_missing', language)}")
    badge = wording("suggested", language)
    for s in advice.suggestions:
        explanation = _ATTRIBUTION.sub("", _MARKER.sub("", s.explanation).strip())
        lines.append(
            f"- <span class='jl-badge jl-ok'>{badge}</span> "
            f"[{s.title}]({document_link(s.citation)})：{explanation}"
        )
    badge = wording("also_eligible", language)
    for product_id in advice.also_eligible:
        if product := products.get(product_id):
            lines.append(
                f"- <span class='jl-badge jl-ok'>{badge}</span> "
                f"[{product.title}]({DOCUMENTS_PATH}/{quote(product.id)})"
                f"{product_facts(product, language, wording)}"
            )
    badge = wording("needs_dual_recording", language)
    for e in advice.handoff:
        lines.append(
            f"- <span class='jl-badge jl-refer'>{badge}</span> "
            f"{_title(e.product_id, products)}：{e.reason}"
        )
    excluded = [e for e in advice.excluded if e.rule not in UNREMARKABLE_EXCLUSIONS]
    if excluded:
        reasons = "\n".join(f"- {_title(e.product_id, products)}：{e.reason}" for e in excluded)
        lines.append(
            f"\n<details><summary>{wording('why_not', language)}（{len(excluded)}）</summary>"
            f"\n\n{reasons}\n\n</details>"
        )
    return "\n".join(lines)


def product_facts(product: Product, language: str, wording: ConsoleWording) -> str:
    facts = []
    if product.risk_level:
        facts.append(wording("risk_level", language, level=product.risk_level))
    if product.min_amount:
        facts.append(wording("min_amount", language, amount=f"{product.min_amount:,.0f}"))
    return f"（{'，'.join(facts)}）" if facts else ""


def _title(product_id: str, products: Mapping[str, Product]) -> str:
    product = products.get(product_id)
    return product.title if product else product_id


@dataclass(frozen=True)
class ProfileForm:
    """The profile form's fields as the browser sends them. Gradio's number fields show and
    send 0 when left empty, so 0 there reads as not entered: an age or a horizon of 0 is
    no customer's, and a form of zeros is a form not filled in."""

    aum: float | None
    available_amount: float | None
    risk_level: str | None
    risk_assessed_on: date | None
    age: float | None
    horizon_months: float | None
    qualified_investor: bool

    @property
    def blank(self) -> bool:
        return not (self.aum or self.available_amount or self.age)


def profile_problems(
    form: ProfileForm, today: date, language: str, wording: ConsoleWording
) -> list[str]:
    """What is wrong with the form, each in words a teller can act on; [] when it is fine
    or not filled in at all (a turn without a profile)."""
    if form.blank:
        return []
    problems = []
    for name in ("aum", "available_amount", "age"):
        value = getattr(form, name)
        field = wording.named("fields", name, language)
        if value is None or (name == "age" and value == 0):
            problems.append(wording("field_required", language, field=field))
        elif value < 0 and name != "age":
            problems.append(wording("field_negative", language, field=field))
    if form.age and not 0 < form.age <= 120:
        problems.append(wording("age_range", language))
    if (
        form.aum is not None
        and form.available_amount is not None
        and form.available_amount > form.aum
    ):
        problems.append(wording("available_above_aum", language))
    if form.horizon_months and not 0 < form.horizon_months <= MAX_HORIZON_MONTHS:
        problems.append(wording("horizon_range", language, most=MAX_HORIZON_MONTHS))
    if form.risk_assessed_on and form.risk_assessed_on > today:
        problems.append(wording("assessed_in_future", language))
    if form.risk_assessed_on and not form.risk_level:
        problems.append(wording("assessed_without_level", language))
    return problems


def profile_of(form: ProfileForm) -> Profile | None:
    """The profile the form describes, once `profile_problems` finds nothing wrong."""
    if form.blank:
        return None
    try:
        return Profile(
            aum=form.aum or 0,
            available_amount=form.available_amount or 0,
            risk_level=form.risk_level or None,
            risk_assessed_on=form.risk_assessed_on,
            age=int(form.age or 0),
            horizon_months=int(form.horizon_months) if form.horizon_months else None,
            qualified_investor=form.qualified_investor,
        )
    except ValidationError:
        return None


def citations_of(stored: Iterable[Mapping[str, Any]]) -> list[Citation]:
    """Citations as the store keeps them; rows written before a field existed get its
    default."""
    names = set(Citation.__dataclass_fields__)
    return [Citation(**{k: v for k, v in c.items() if k in names}) for c in stored]
