"""The bank's glossary: other names of what a question names, for keyword search and for
judging whether a sentence covers the question."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.pipeline import Assistant
from assistant.roles import Role
from assistant.search.glossary import Glossary, GlossaryError
from tests.conftest import KNOWLEDGE, write

GLOSSARY = Glossary.load(KNOWLEDGE / "glossary.yaml")


def test_a_question_gains_the_other_names_of_what_it_names() -> None:
    assert "整存整取" in GLOSSARY.other_names("What's the rate on a 2-year time deposit?")
    assert "热线" in GLOSSARY.other_names("华屿基金的客服电话是多少")
    # Traditional characters fold to the glossary's Simplified entries.
    assert "重疾险" in GLOSSARY.other_names("重大疾病保險保額最高多少")


def test_latin_names_match_whole_words_only() -> None:
    glossary = Glossary((("大额存单", "cd"),))
    assert glossary.other_names("Can I sell my CD early?") == ["大额存单"]
    assert glossary.other_names("Is the CDN down?") == []


def test_a_chinese_question_searches_with_chinese_names_only() -> None:
    terms = GLOSSARY.keyword_terms("定期存款利率多少")
    assert "整存整取" in terms and not any(t.isascii() and t.isalpha() for t in terms)
    assert "整存整取" in GLOSSARY.keyword_terms("time deposit rate")


def test_a_sentence_covers_the_terms_of_its_synonyms() -> None:
    assert "电话" in GLOSSARY.terms_of("请致电客服热线95388。")
    assert "电话" not in Glossary().terms_of("请致电客服热线95388。")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # Neither sheet has an English version: only the glossary's Chinese names find them.
        ("What's the minimum down payment for a car loan?", "loan-car"),
        ("How much can I save in an education savings account?", "dep-education-savings"),
    ],
)
def test_english_questions_find_sheets_published_only_in_chinese(
    assistant: Assistant, question: str, expected: str
) -> None:
    assert expected in [p.chunk.doc_id for p in assistant.search(question, Role.customer, 3)]


def test_without_a_glossary_file_there_are_no_synonyms(tmp_path: Path) -> None:
    assert Glossary.load(tmp_path / "glossary.yaml").other_names("time deposit") == []


@pytest.mark.parametrize(
    "text",
    ["synonyms: [[定期存款]]", "synonyms: [[定期存款, '']]", "synonyms: 定期存款", "- [a, b]"],
)
def test_a_malformed_glossary_is_refused_with_the_entry_to_fix(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "glossary.yaml", text)
    with pytest.raises(GlossaryError, match=r"glossary\.yaml"):
        Glossary.load(path)
