"""Suggestions for one customer: the suitability decision over the live catalog, ranked by
fit to the stated goal, each explained from its own product sheet with a citation and
checked by the output guardrail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assistant.generation import ComposerWording
from assistant.guard import GuardResult, SourceDocument
from assistant.pipeline import Assistant, TurnRequest
from assistant.recommend import TIER_NAMES, Decision, Product, Profile, decide, load_rules
from assistant.roles import Role

MAX_SUGGESTIONS = 5


@dataclass(frozen=True)
class Suggestion:
    product: Product
    explanation: str
    citation: dict[str, Any]
    guard: GuardResult


def catalog(assistant: Assistant) -> list[Product]:
    """Every product sheet in the index, once (the Chinese sheet stands for its translation)."""
    metas = [r.meta for r in assistant.index.snapshot().documents.values()]
    return [
        Product.from_meta(m) for m in metas if m["kind"] == "product" and m["language"] == "zh-CN"
    ]


def evaluate(assistant: Assistant, profile: Profile) -> Decision:
    metas = [r.meta for r in assistant.index.snapshot().documents.values() if r.meta.get("rules")]
    return decide(catalog(assistant), profile, assistant.settings.today(), load_rules(metas))


def rank(assistant: Assistant, products: list[Product], goal: str | None) -> list[Product]:
    """Closest to the goal first (retrieval over the product sheets), then lower risk."""
    if not goal:
        return sorted(products, key=lambda p: (p.risk_level or "R0", p.min_amount or 0))
    relevance: dict[str, float] = {}
    for passage in assistant.search(goal, Role.customer, 50):
        doc_id = passage.chunk.doc_id.removesuffix("-en")
        relevance[doc_id] = max(relevance.get(doc_id, 0.0), passage.score)
    return sorted(products, key=lambda p: (-relevance.get(p.id, 0.0), p.risk_level or "R0"))


def explain(assistant: Assistant, product: Product, n: int, language: str = "zh-CN") -> Suggestion:
    """A sentence of facts from the product's own front matter, cited to its sheet; in
    English from the English sheet where the bank publishes one."""
    documents = assistant.index.snapshot().documents
    doc_id = product.id
    if language == "en" and f"{product.id}-en" in documents:
        doc_id = f"{product.id}-en"
    meta = documents[doc_id].meta
    chunks = [c for c in assistant.index.snapshot().chunks if c.doc_id == doc_id]
    passage = next(
        (c for c in chunks if any(w in c.text for w in ("业绩比较基准", "利率", "benchmark"))),
        chunks[0],
    )
    text = _facts_sentence(meta, passage.text, language, n)
    sheet = "\n".join(c.text for c in chunks)
    source = SourceDocument(
        doc_id,
        f"{meta['title']}\n{sheet}\n{_front_matter_text(meta)}",
        "public",
        product.category,
        product.risk_level,
    )
    checked = assistant.output_guard.inspect(text, [source], "customer", language, assistant.view())
    citation = {"n": n, "doc_id": doc_id, "title": meta["title"], "passage": passage.text}
    return Suggestion(product, checked.text, citation, checked)


def _facts_sentence(meta: dict[str, Any], passage: str, language: str, n: int) -> str:
    """Risk level, minimum, term and benchmark as the sheet states them; a sheet without
    such fields (a product list, say) is introduced by its passage's first sentence."""
    english = language == "en"
    labels = (
        ("Risk level {}", "minimum CNY {:,.0f}", "term: {}")
        if english
        else ("风险等级{}", "起点金额{:,.0f}元", "期限：{}")
    )
    values = (meta.get("risk_level"), meta.get("min_amount"), meta.get("term"))
    facts = [label.format(v) for label, v in zip(labels, values, strict=True) if v]
    if meta.get("benchmark_yield"):
        facts.append(str(meta["benchmark_yield"]))
    if not facts:
        facts = [first_sentence(passage)]
    if english:
        return f"{meta['title']}: " + "; ".join(facts) + f". [{n}]"
    return f"《{meta['title']}》：" + "；".join(facts) + f"。[{n}]"


def first_sentence(text: str) -> str:
    body = " ".join(line for line in text.splitlines() if line and not line.startswith("#"))
    return re.split(r"(?<=[。！？.!?])\s*", body, maxsplit=1)[0].rstrip("。.")


def _front_matter_text(meta: dict[str, Any]) -> str:
    """The sheet's structured fields as text, so that figures quoted from them are traceable."""
    fields = ("min_amount", "term", "benchmark_yield", "fees", "age_min", "age_max")
    return "\n".join(f"{meta[f]}" for f in fields if meta.get(f) is not None)


def recommend(
    assistant: Assistant, profile: Profile, goal: str | None = None, language: str = "zh-CN"
) -> dict[str, Any]:
    decision = evaluate(assistant, profile)
    chosen = rank(assistant, decision.eligible, goal or profile.goal)[:MAX_SUGGESTIONS]
    suggestions = [
        explain(assistant, product, n, language) for n, product in enumerate(chosen, start=1)
    ]
    return {
        "tier": decision.tier,
        "risk_assessment_valid": decision.assessment_valid,
        "eligible": [
            {
                "id": s.product.id,
                "title": s.citation["title"],
                "why": s.explanation,
                "risk_level": s.product.risk_level,
                "min_amount": s.product.min_amount,
                "term": s.product.term,
                "benchmark_yield": s.product.benchmark_yield,
                "citation": s.citation,
                "guardrail": s.guard.action,
            }
            for s in suggestions
        ],
        "also_eligible": [p.id for p in decision.eligible if p not in chosen],
        "handoff": [e.as_dict() for e in decision.handoff],
        "excluded": [e.as_dict() for e in decision.excluded],
    }


def advise(assistant: Assistant, request: TurnRequest, profile: Profile | None) -> dict[str, Any]:
    """A whole turn, and suggestions when a profile is known. The profile is whatever the
    teller entered or the app backend signed; the message text never changes it."""
    result = assistant.answer(request).as_dict()
    blocked = result["action"] in ("block", "handoff")
    if profile is None or blocked:
        return result
    suggestions = recommend(assistant, profile, profile.goal or request.message, result["language"])
    result["suggestions"] = suggestions
    if suggestions["eligible"] and not result["grounded"]:
        # The documents do not answer "what suits me?"; the suggestions do.
        intro = ComposerWording.load(assistant.settings.prompts_dir).suggestions_intro
        english = result["language"] == "en"
        tier = suggestions["tier"] if english else TIER_NAMES[suggestions["tier"]]
        risk = (
            profile.risk_level
            if suggestions["risk_assessment_valid"]
            else ("not assessed" if english else "未评估或已过期")
        )
        text = intro.get(result["language"], intro["zh-CN"]).format(tier=tier, risk=risk)
        result["answer"] = "\n".join([text, *(item["why"] for item in suggestions["eligible"])])
    return result
