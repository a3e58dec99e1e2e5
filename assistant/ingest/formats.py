"""Text out of PDF, Word and HTML files, as Markdown-ish text the chunker understands
(headings as '#' lines, table rows as '| a | b |'). Well-kept libraries do the parsing:
pypdf, python-docx and Beautiful Soup."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

from assistant.errors import DocumentError

_SPACES = re.compile(r"[ \t\u3000\xa0]+")


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise DocumentError(str(path), "is an encrypted PDF; save an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as error:
        raise DocumentError(str(path), f"is not a readable PDF ({error})") from None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise DocumentError(str(path), "has no extractable text (a scanned PDF? run OCR first)")
    return text


def docx_text(path: Path) -> str:
    from docx import Document as WordDocument
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = WordDocument(str(path))
    except (PackageNotFoundError, ValueError, KeyError, OSError) as error:
        raise DocumentError(str(path), f"is not a readable Word .docx file ({error})") from None
    return "\n".join(_docx_blocks(document))


def _docx_blocks(document) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Paragraphs and tables in document order; heading styles become '#' headings."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = item.text.strip()
            if not text:
                continue
            style = (item.style.name or "") if item.style is not None else ""
            level = re.match(r"(?:Heading|标题)\s*(\d)", style)
            if style == "Title":
                yield f"# {text}"
            elif level:
                yield f"{'#' * (int(level.group(1)) + 1)} {text}"
            else:
                yield text
        elif isinstance(item, Table):
            for row in item.rows:
                cells = [_SPACES.sub(" ", cell.text).strip() for cell in row.cells]
                yield "| " + " | ".join(cells) + " |"


_DROP = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe")


def html_text(path: Path) -> str:
    from bs4 import BeautifulSoup

    raw = path.read_bytes()
    soup = BeautifulSoup(raw, "html.parser")
    for tag in soup(_DROP):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    lines: list[str] = []
    title = soup.title.get_text(strip=True) if soup.title else ""
    if title and not root.find("h1"):
        lines.append(f"# {title}")
    for element in root.find_all(["h1", "h2", "h3", "h4", "p", "li", "tr", "pre", "blockquote"]):
        if element.find_parent(["li", "tr"]) is not None and element.name in ("p", "li"):
            continue  # nested text is read with its container
        text = _SPACES.sub(" ", element.get_text(" ", strip=True)).strip()
        if not text:
            continue
        if element.name in ("h1", "h2", "h3", "h4"):
            lines.append(f"{'#' * int(element.name[1])} {text}")
        elif element.name == "tr":
            cells = [c.get_text(" ", strip=True) for c in element.find_all(["td", "th"])]
            lines.append("| " + " | ".join(cells) + " |")
        elif element.name == "li":
            lines.append(f"- {text}")
        else:
            lines.append(text)
    text = "\n".join(lines).strip()
    if not text:
        raise DocumentError(str(path), "has no readable text in its HTML body")
    return text


EXTRACTORS: dict[str, Callable[[Path], str]] = {
    ".pdf": pdf_text,
    ".docx": docx_text,
    ".html": html_text,
    ".htm": html_text,
}
