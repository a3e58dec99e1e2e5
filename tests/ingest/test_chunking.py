"""Chunks follow headings and end on sentence boundaries."""

from __future__ import annotations

from assistant.ingest.chunking import chunk_document, pack, sections
from assistant.ingest.documents import PlainFileDefaults, parse_document
from assistant.roles import Audience
from tests.conftest import front_matter

BODY = """# 大额存单说明书

## 起存金额
本期起存金额为20万元。超过部分以1万元递增。

## 利率
### 挂牌利率
| 期限 | 年利率 |
| --- | --- |
| 1年 | 1.55% |
| 3年 | 1.90% |

## 提前支取
可部分提前支取，最多2次。提前支取部分按活期利率计息！剩余部分不低于20万元？
"""


def _doc(body: str = BODY):  # type: ignore[no-untyped-def]
    return parse_document(front_matter("cd", body), "cd.md", PlainFileDefaults(Audience.public))


def test_sections_follow_the_heading_path() -> None:
    names = [name for name, _ in sections(BODY)]
    assert names == ["起存金额", "利率 > 挂牌利率", "提前支取"]


def test_chunks_carry_their_section_and_never_mix_sections() -> None:
    chunks = chunk_document(_doc(), size=200, overlap=0)
    by_section = {c.section: c.text for c in chunks}
    assert "20万元" in by_section["起存金额"]
    assert "| 3年 | 1.90% |" in by_section["利率 > 挂牌利率"]
    assert "---" not in by_section["利率 > 挂牌利率"]
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert chunks[0].chunk_id == "cd#0"


def test_small_chunks_end_on_chinese_sentence_boundaries() -> None:
    chunks = chunk_document(_doc(), size=20, overlap=0)
    early = [c.text for c in chunks if c.section == "提前支取"]
    assert early == [
        "可部分提前支取，最多2次。",
        "提前支取部分按活期利率计息！",
        "剩余部分不低于20万元？",
    ]


def test_overlap_repeats_the_previous_sentence() -> None:
    chunks = pack(["甲。" * 5, "乙。" * 5, "丙。" * 5], size=22, overlap=1)
    assert chunks == [
        "甲。甲。甲。甲。甲。乙。乙。乙。乙。乙。",
        "乙。乙。乙。乙。乙。丙。丙。丙。丙。丙。",
    ]


def test_a_sentence_longer_than_a_chunk_is_cut() -> None:
    chunks = pack(["长" * 50], size=20, overlap=0)
    assert [len(c) for c in chunks] == [20, 20, 10]


def test_english_sentences_are_joined_with_spaces() -> None:
    doc = _doc("# T\n\n## Fees\nNo fee applies. A replacement card costs 10 yuan.")
    (chunk,) = chunk_document(doc, size=200, overlap=0)
    assert chunk.text == "No fee applies. A replacement card costs 10 yuan."
