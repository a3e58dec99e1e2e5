"""Real noisy web documents (../shared/seeds): the site's wrapping goes, the text stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest.chunking import chunk_document
from assistant.ingest.cleaning import clean_web_text, is_boilerplate
from assistant.ingest.documents import PlainFileDefaults, load_documents
from assistant.roles import Audience
from tests.conftest import SEEDS

SEED_FILES = sorted(SEEDS.glob("*.txt"))
SITE_MARKERS = (
    "book118",
    "VIP",
    "下载本文档",
    "下載本文檔",
    "版权申诉",
    "提交评论",
    "提交評論",
    "文档库",
    "已閱讀",
    "侵權",
)

pytestmark = pytest.mark.skipif(not SEED_FILES, reason="../shared/seeds is not beside the repo")


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name[:3])
def test_boilerplate_is_stripped_and_text_kept(path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    cleaned = clean_web_text(raw)
    for marker in SITE_MARKERS:
        assert marker not in cleaned
    # The documents are mostly content: cleaning keeps the bulk of them.
    assert len(cleaned) > 0.4 * len(raw)


def test_document_text_survives_cleaning() -> None:
    cleaned = clean_web_text((SEEDS / "000_db5d70cd254ba434.txt").read_text(encoding="utf-8"))
    assert cleaned.startswith("商业银行个人用户客户营销工作管理办法")
    assert "一、总则" in cleaned
    assert "坚持客户至上" in cleaned


def test_pinyin_annotations_and_page_counters_are_removed() -> None:
    cleaned = clean_web_text((SEEDS / "001_aa4c88740761c1c1.txt").read_text(encoding="utf-8"))
    assert "(yíng)" not in cleaned and "營(yíng)銷" not in cleaned
    assert "客戶營銷策略計劃" in cleaned
    assert "_第1頁" not in cleaned


def test_ocr_gaps_between_chinese_characters_are_closed() -> None:
    assert clean_web_text("动 中共 同实现价 值创造 。") == "动中共同实现价值创造。"
    assert clean_web_text("Keep   English spacing.") == "Keep   English spacing."


def test_a_long_paragraph_that_mentions_downloads_is_content() -> None:
    paragraph = "客户可以通过手机银行下载电子对账单，" * 12
    assert not is_boilerplate(paragraph)
    assert is_boilerplate("下载本文档")


def test_seeds_ingest_into_chunks() -> None:
    report = load_documents([SEEDS], PlainFileDefaults(Audience.public))
    assert report.errors == []
    assert len(report.documents) == len(SEED_FILES)
    for document in report.documents:
        chunks = chunk_document(document, 360, 1)
        assert chunks, document.source
        assert all(len(c.text) <= 360 * 2 for c in chunks)
    languages = {d.meta.language for d in report.documents}
    assert "zh-TW" in languages and "zh-CN" in languages
