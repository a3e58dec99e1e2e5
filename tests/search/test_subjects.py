"""What a question is about, read from the real catalogue: the product it names decides
which sheets may answer it, a comparison keeps both sides, and a question that names no
product, or names one retrieval does not find, is not narrowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.pipeline import Assistant
from assistant.roles import Role
from assistant.search.retrieval import narrowed
from assistant.search.subjects import Subject, TitleRules
from tests.conftest import KNOWLEDGE


def subject_of(assistant: Assistant, question: str) -> Subject:
    return assistant.subjects(assistant.index.snapshot()).of(question)


@pytest.mark.parametrize(
    ("question", "included", "excluded"),
    [
        ("标准信用卡刷卡积分怎么算", {"card-credit-standard"}, {"card-credit-platinum"}),
        ("大額存單一年期利率多少", {"dep-large-cd-2026-01"}, {"dep-time-deposit"}),
        ("What is the annual fee of the platinum credit card?", {"card-credit-platinum-en"},
         {"card-credit-standard-en", "card-debit-platinum-en"}),
        ("大额存单和定期存款哪个利率高", {"dep-large-cd-2026-01", "dep-time-deposit"},
         {"dep-call-deposit"}),
    ],
)  # fmt: skip
def test_the_product_a_question_names_is_its_subject(
    assistant: Assistant, question: str, included: set[str], excluded: set[str]
) -> None:
    subject = subject_of(assistant, question)
    assert included <= subject.products, sorted(subject.documents)
    assert not excluded & subject.documents, sorted(subject.documents)


def test_a_product_is_found_by_its_english_twin_and_its_glossary_names(
    assistant: Assistant,
) -> None:
    subject = subject_of(assistant, "how much is the time deposit rate for 2 years")
    assert {"dep-time-deposit", "dep-time-deposit-en"} <= subject.documents


def test_everyday_words_in_titles_name_nothing(assistant: Assistant) -> None:
    # "rate" is in a CD policy's title, "large" and "gold" in product titles: a question
    # using them as everyday words is not about those documents.
    assert not subject_of(assistant, "what is the exchange rate today")
    assert (
        "dep-large-cd-2026-01-en"
        not in subject_of(assistant, "can I withdraw a large amount of cash tomorrow").documents
    )


def test_another_products_sheet_may_not_answer_but_a_policy_may(assistant: Assistant) -> None:
    subject = subject_of(assistant, "标准信用卡取现手续费多少")
    chunks = {c.doc_id: c for c in assistant.index.snapshot().chunks}
    assert subject.admits(chunks["card-credit-standard"])
    assert not subject.admits(chunks["card-credit-platinum"])
    assert subject.admits(chunks["pol-fee-schedule"])
    nothing_named = Subject()
    assert nothing_named.admits(chunks["card-credit-platinum"])


def test_a_subject_retrieval_does_not_find_narrows_nothing(assistant: Assistant) -> None:
    snapshot = assistant.index.snapshot()
    question = "大额存单起存金额是多少"
    ranked = assistant._retrieve(snapshot, question, Role.customer, 40)
    subject = subject_of(assistant, question)
    kept, confirmed = narrowed(ranked, subject, 5)
    assert confirmed == subject and all(subject.admits(p.chunk) for p in kept)
    assert len(kept) < len(ranked)  # the time deposit and other sheets are gone
    unconfirmed = Subject(
        frozenset({"pb-family-trust"}), ("家族信托",), frozenset({"pb-family-trust"})
    )
    kept, confirmed = narrowed(ranked, unconfirmed, 5)
    assert not confirmed and kept == ranked
    assert narrowed(ranked, subject, 0) == (ranked, Subject())  # 0 turns narrowing off


def test_title_rules_are_read_from_the_glossary_and_checked(tmp_path: Path) -> None:
    rules = TitleRules.load(KNOWLEDGE / "glossary.yaml")
    assert "江澜" in rules.boilerplate and 0 < rules.generic_share < 1
    bad = tmp_path / "glossary.yaml"
    bad.write_text("title_boilerplate: 江澜\ngeneric_title_share: 3\n", encoding="utf-8")
    with pytest.raises(Exception, match="title_boilerplate"):
        TitleRules.load(bad)
