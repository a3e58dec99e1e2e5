"""Suggestions for one customer: the suitability decision over the catalog of the index
generation being served, ranked by fit to the stated goal, each explained from its own
product sheet with a citation and checked by the output guardrail against that sheet."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from assistant.advice.rules import (
    Decision,
    Exclusion,
    Product,
    Profile,
    SuitabilityWording,
    decide,
    load_rules,
)
from assistant.answer.generator import Citation, citation_of
from assistant.answer.wording import ComposerWording
from assistant.guard import Action, KnowledgeView, OutputGuard, SourceDocument
from assistant.search.catalog import DocumentRecord, IndexedChunk
from assistant.search.index import Snapshot
from assistant.search.retrieval import Passage
from assistant.text import Language

# Passages about a goal, as the customer's lane retrieves them.
GoalSearch = Callable[[str], list[Passage]]


@dataclass(frozen=True)
class Suggestion:
    product: Product
    title: str
    explanation: str
    citation: Citation
    # The sheet the explanation was checked against, for the output rails of the reply.
    source: SourceDocument
    guardrail: Action

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.product.id,
            "title": self.title,
            "why": self.explanation,
            "risk_level": self.product.risk_level,
            "min_amount": self.product.min_amount,
            "term": self.product.term,
            "benchmark_yield": self.product.benchmark_yield,
            "citation": self.citation.as_dict(),
            "guardrail": self.guardrail,
        }


@dataclass(frozen=True)
class Advice:
    tier: str
    risk_assessment_valid: bool
    # The customer's assessed risk tolerance (C1-C5) as the profile states it.
    risk_level: str | None
    suggestions: list[Suggestion]
    also_eligible: list[str]
    handoff: list[Exclusion]
    excluded: list[Exclusion]

    def as_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "risk_assessment_valid": self.risk_assessment_valid,
            "eligible": [s.as_dict() for s in self.suggestions],
            "also_eligible": self.also_eligible,
            "handoff": [e.as_dict() for e in self.handoff],
            "excluded": [e.as_dict() for e in self.excluded],
        }


def catalog(snapshot: Snapshot) -> list[Product]:
    """Every public product sheet in the index, once (the Chinese sheet stands for its
    translation). A sheet not marked public is never suggested: suggestions reach customers."""
    metas = [r.meta for r in snapshot.documents.values()]
    return [
        Product.from_meta(m)
        for m in metas
        if m["kind"] == "product" and m["language"] == "zh-CN" and m["audience"] == "public"
    ]


def rank(products: list[Product], goal: str | None, search: GoalSearch) -> list[Product]:
    """Closest to the goal first (retrieval over the product sheets), then lower risk."""
    if not goal:
        return sorted(products, key=lambda p: (p.risk_level or "R0", p.min_amount or 0))
    relevance: dict[str, float] = {}
    for passage in search(goal):
        doc_id = passage.chunk.doc_id.removesuffix("-en")
        relevance[doc_id] = max(relevance.get(doc_id, 0.0), passage.score)
    return sorted(products, key=lambda p: (-relevance.get(p.id, 0.0), p.risk_level or "R0"))


class Advisor:
    def __init__(
        self,
        output_guard: OutputGuard,
        wording: SuitabilityWording,
        composer: ComposerWording,
        max_suggestions: int,
    ) -> None:
        self.output_guard = output_guard
        self.wording = wording
        self.composer = composer
        self.max_suggestions = max_suggestions

    def evaluate(
        self, snapshot: Snapshot, profile: Profile, today: date, language: Language = "zh-CN"
    ) -> Decision:
        metas = [r.meta for r in snapshot.documents.values() if r.meta.get("rules")]
        return decide(catalog(snapshot), profile, today, load_rules(metas), self.wording, language)

    def advise(
        self,
        snapshot: Snapshot,
        view: KnowledgeView,
        profile: Profile,
        today: date,
        goal: str | None,
        search: GoalSearch,
        language: Language = "zh-CN",
    ) -> Advice:
        """The profile is whatever the teller entered or the app backend signed; the message
        text never changes it."""
        decision = self.evaluate(snapshot, profile, today, language)
        chosen = rank(decision.eligible, goal or profile.goal, search)[: self.max_suggestions]
        suggestions = [
            self.explain(snapshot, view, product, n, language)
            for n, product in enumerate(chosen, start=1)
        ]
        return Advice(
            decision.tier,
            decision.assessment_valid,
            profile.risk_level,
            suggestions,
            [p.id for p in decision.eligible if p not in chosen],
            decision.handoff,
            decision.excluded,
        )

    def explain(
        self,
        snapshot: Snapshot,
        view: KnowledgeView,
        product: Product,
        n: int,
        language: Language = "zh-CN",
    ) -> Suggestion:
        """A sentence of facts from the product's own front matter, cited to its sheet; in
        English from the English sheet where the bank publishes one."""
        doc_id = product.id
        if language == "en" and f"{product.id}-en" in snapshot.documents:
            doc_id = f"{product.id}-en"
        record = snapshot.documents[doc_id]
        chunks = [c for c in snapshot.chunks if c.doc_id == doc_id]
        passage = next(
            (c for c in chunks if any(w in c.text for w in ("业绩比较基准", "利率", "benchmark"))),
            chunks[0],
        )
        source = _sheet(record, chunks, product)
        text = self.wording.product_facts(record.meta, first_sentence(passage.text), n, language)
        checked = self.output_guard.inspect(text, [source], "customer", language, view)
        title = str(record.meta["title"])
        return Suggestion(
            product, title, checked.text, citation_of(n, passage), source, checked.action
        )

    def reply(self, advice: Advice, language: Language) -> str:
        """What answers "what suits me?" when the documents do not: the customer's tier and
        risk level, then each suggestion."""
        # English readers meet the tier by its id (gold, platinum), as the sheets name it.
        tier = advice.tier if language == "en" else self.wording.tier_name(advice.tier, language)
        valid = advice.risk_assessment_valid and advice.risk_level
        risk = advice.risk_level if valid else self.composer.risk_not_assessed[language]
        intro = self.composer.suggestions_intro[language].format(tier=tier, risk=risk)
        return "\n".join([intro, *(s.explanation for s in advice.suggestions)])


def _sheet(record: DocumentRecord, chunks: list[IndexedChunk], product: Product) -> SourceDocument:
    """The whole product sheet with its structured fields, so that figures quoted from
    either are traceable."""
    sheet = "\n".join(c.text for c in chunks)
    return SourceDocument(
        record.doc_id,
        f"{record.meta['title']}\n{sheet}\n{_front_matter_text(record.meta)}",
        str(record.meta["audience"]),
        product.category,
        product.risk_level,
    )


def first_sentence(text: str) -> str:
    body = " ".join(line for line in text.splitlines() if line and not line.startswith("#"))
    return re.split(r"(?<=[。！？.!?])\s*", body, maxsplit=1)[0].rstrip("。.")


def _front_matter_text(meta: dict[str, Any]) -> str:
    fields = ("min_amount", "term", "benchmark_yield", "fees", "age_min", "age_max")
    return "\n".join(f"{meta[f]}" for f in fields if meta.get(f) is not None)
