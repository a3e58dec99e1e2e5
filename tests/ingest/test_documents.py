"""Loading knowledge files: the schema, plain files, and errors that name file and reason."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.ingest.documents import (
    DocumentError,
    PlainFileDefaults,
    load_documents,
    load_file,
    parse_document,
)
from assistant.roles import Audience
from tests.conftest import KNOWLEDGE, front_matter, write

DEFAULTS = PlainFileDefaults(Audience.public)


def test_front_matter_becomes_typed_metadata() -> None:
    text = front_matter(
        "wm-test",
        "# 稳盈\n\n## 概述\n一款理财产品。",
        kind="product",
        risk_level="R2",
        tiers="[gold, platinum]",
        min_amount="10000",
        effective_from="2026-01-05",
    )
    doc = parse_document(text, "wm-test.md", DEFAULTS)
    assert doc.meta.id == "wm-test"
    assert doc.meta.risk_level == "R2"
    assert doc.meta.tiers == ["gold", "platinum"]
    assert doc.meta.min_amount == 10000
    assert doc.meta.effective_from == date(2026, 1, 5)
    assert doc.body.startswith("# 稳盈")
    assert len(doc.content_hash) == 64


def test_a_misspelt_field_is_rejected_not_ignored() -> None:
    text = front_matter("typo", "正文。", audiance="staff")
    with pytest.raises(DocumentError, match="audiance"):
        parse_document(text, "typo.md", DEFAULTS)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"audience": "everyone"}, "audience"),
        ({"risk_level": "R9"}, "risk_level"),
        ({"effective_from": "2026-05-01", "effective_to": "2026-01-01"}, "effective_to is before"),
        ({"id": "has space"}, "id"),
        ({"language": "fr"}, "language"),
    ],
)
def test_invalid_values_are_reported_with_the_field(fields: dict[str, str], reason: str) -> None:
    doc_id = fields.pop("id", "bad-doc")
    text = front_matter(doc_id, "正文内容。", **fields)
    with pytest.raises(DocumentError, match=reason) as raised:
        parse_document(text, "knowledge/bad.md", DEFAULTS)
    assert raised.value.source == "knowledge/bad.md"


def test_broken_yaml_names_the_line() -> None:
    text = "---\nid: x1\ntitle: [unclosed\naudience: public\n---\n正文。"
    with pytest.raises(DocumentError, match="not valid YAML"):
        parse_document(text, "broken.md", DEFAULTS)


def test_empty_body_is_an_error() -> None:
    with pytest.raises(DocumentError, match="no text"):
        parse_document(front_matter("empty", ""), "empty.md", DEFAULTS)


def test_plain_text_file_takes_defaults_and_file_name(tmp_path: Path) -> None:
    path = write(
        tmp_path / "挂失 常见问题.txt", "银行卡丢失怎么办？\n请立即拨打客服热线办理口头挂失。"
    )
    doc = load_file(path, PlainFileDefaults(audience=Audience.staff))
    assert doc.meta.id == "挂失-常见问题"
    assert doc.meta.audience == Audience.staff
    assert doc.meta.title == "银行卡丢失怎么办？"
    assert doc.meta.language == "zh-CN"


def test_plain_markdown_title_comes_from_its_heading(tmp_path: Path) -> None:
    path = write(tmp_path / "faq.md", "# Opening hours\n\nBranches open 9:00 to 17:00 on weekdays.")
    doc = load_file(path, DEFAULTS)
    assert doc.meta.title == "Opening hours"
    assert doc.meta.language == "en"


def test_traditional_chinese_plain_file_is_detected(tmp_path: Path) -> None:
    path = write(tmp_path / "tw.txt", "大額存單的起存金額是多少？請問營業廳幾點開門。")
    assert load_file(path, DEFAULTS).meta.language == "zh-TW"


def test_unreadable_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / "gbk.txt").write_bytes("大额存单".encode("gbk"))
    (tmp_path / "blob.md").write_bytes(b"abc\x00def")
    (tmp_path / "sheet.xlsx").write_bytes(b"PK")
    with pytest.raises(DocumentError, match="UTF-8"):
        load_file(tmp_path / "gbk.txt", DEFAULTS)
    with pytest.raises(DocumentError, match="binary"):
        load_file(tmp_path / "blob.md", DEFAULTS)
    with pytest.raises(DocumentError, match="unsupported file type"):
        load_file(tmp_path / "sheet.xlsx", DEFAULTS)


def test_folder_load_skips_bad_files_and_duplicate_ids(tmp_path: Path) -> None:
    write(tmp_path / "a.md", front_matter("same-id", "第一份。"))
    write(tmp_path / "b.md", front_matter("same-id", "第二份。"))
    write(tmp_path / "c.md", "---\nid: [\n---\n坏的。")
    write(tmp_path / "d.txt", "一份普通的常见问题。")
    report = load_documents([tmp_path], DEFAULTS)
    assert sorted(d.meta.id for d in report.documents) == ["d", "same-id"]
    reasons = {Path(e.source).name: e.reason for e in report.errors}
    assert set(reasons) == {"b.md", "c.md"}
    assert "already used" in reasons["b.md"]


def test_missing_path_is_reported(tmp_path: Path) -> None:
    report = load_documents([tmp_path / "nope.md"], DEFAULTS)
    assert not report.documents
    assert "does not exist" in report.errors[0].reason


def test_the_real_knowledge_base_loads_cleanly() -> None:
    report = load_documents([KNOWLEDGE], DEFAULTS)
    assert report.errors == []
    audiences = {doc.meta.audience for doc in report.documents}
    assert audiences == {Audience.public, Audience.staff}
    assert len(report.documents) >= 10
