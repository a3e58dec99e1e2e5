"""PDF, Word and HTML documents, generated for real, ingested like any other file."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest.documents import DocumentError, PlainFileDefaults, load_documents, load_file
from assistant.roles import Audience, Role
from assistant.search.embeddings import Embedder
from assistant.search.index import KnowledgeIndex
from assistant.search.retrieval import search
from assistant.service import ingest_paths
from tests.conftest import AS_OF, front_matter, write

DEFAULTS = PlainFileDefaults(Audience.public)


def make_pdf(path: Path, lines: list[str]) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    page = canvas.Canvas(str(path))
    page.setFont("STSong-Light", 12)
    for i, line in enumerate(lines):
        page.drawString(72, 760 - 20 * i, line)
    page.save()
    return path


def make_docx(path: Path) -> Path:
    from docx import Document

    document = Document()
    document.add_heading("外汇兑换指南", level=0)
    document.add_heading("便利化额度", level=1)
    document.add_paragraph("每人每年购汇便利化额度为等值5万美元。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "币种", "是否可兑现钞"
    table.cell(1, 0).text, table.cell(1, 1).text = "美元", "是"
    document.save(str(path))
    return path


HTML = """<html><head><title>网点营业时间</title><script>track()</script></head>
<body><nav>首页 | 个人业务 | 关于我们</nav>
<main><h1>网点营业时间</h1><h2>工作日</h2><p>工作日营业时间为9:00至17:00。</p>
<ul><li>周末部分网点营业</li></ul>
<table><tr><th>渠道</th><th>时间</th></tr><tr><td>客服热线</td><td>7×24小时</td></tr></table>
</main><footer>版权所有 © 江澜银行</footer></body></html>"""


def test_pdf_text_is_extracted_with_its_chinese(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "大额存单说明.pdf", ["大额存单产品说明", "起存金额为20万元。"])
    doc = load_file(path, DEFAULTS)
    assert doc.meta.id == "大额存单说明"
    assert "起存金额为20万元。" in doc.body
    assert doc.meta.language == "zh-CN"


def test_word_headings_and_tables_survive(tmp_path: Path) -> None:
    doc = load_file(make_docx(tmp_path / "fx.docx"), PlainFileDefaults(audience=Audience.staff))
    assert doc.body.startswith("# 外汇兑换指南")
    assert "## 便利化额度" in doc.body
    assert "| 美元 | 是 |" in doc.body
    assert doc.meta.title == "外汇兑换指南" and doc.meta.audience == Audience.staff


def test_html_keeps_the_content_and_drops_the_site(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path / "hours.html", HTML), DEFAULTS)
    assert "工作日营业时间为9:00至17:00。" in doc.body
    assert "## 工作日" in doc.body and "| 客服热线 | 7×24小时 |" in doc.body
    assert "- 周末部分网点营业" in doc.body
    for noise in ("track()", "首页", "版权所有"):
        assert noise not in doc.body


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "not a readable PDF"),
        ("broken.docx", b"PK\x03\x04 not a word file", "not a readable Word"),
        ("empty.html", b"<html><body><script>x()</script></body></html>", "no readable text"),
    ],
)
def test_unreadable_files_say_why(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DocumentError, match=reason):
        load_file(tmp_path / name, DEFAULTS)


def test_a_scanned_pdf_without_text_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no extractable text"):
        load_file(make_pdf(tmp_path / "scan.pdf", []), DEFAULTS)


def test_mixed_formats_ingest_together_and_bad_ones_cost_nothing(
    tmp_path: Path, embedder: Embedder
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    make_pdf(folder / "cd.pdf", ["大额存单产品说明", "大额存单起存金额为20万元。"])
    make_docx(folder / "fx.docx")
    write(folder / "hours.html", HTML)
    write(folder / "card.md", front_matter("card", "# 挂失\n\n丢卡请拨打95388挂失。"))
    index = KnowledgeIndex(tmp_path / "idx", embedder)
    loaded, report = ingest_paths(index, [folder], DEFAULTS)
    assert sorted(report.added) == ["card", "cd", "fx", "hours"] and not loaded.errors
    (folder / "cd.pdf").write_bytes(b"%PDF-1.4 truncated")  # the file is damaged later
    loaded, report = ingest_paths(index, [folder], DEFAULTS, prune=True)
    assert [Path(e.source).name for e in loaded.errors] == ["cd.pdf"]
    assert report.removed == []
    found = search(index.snapshot(), embedder, "大额存单起存金额", Role.customer, 3, AS_OF)
    assert found[0].chunk.doc_id == "cd"
    assert {d.meta.id for d in load_documents([folder], DEFAULTS).documents} == {
        "card",
        "fx",
        "hours",
    }
