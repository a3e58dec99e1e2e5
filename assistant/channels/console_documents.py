"""A cited document as the teller opens it from an answer: the whole document from the index
generation being served, the cited passage marked and scrolled to, the sentence the answer
quotes highlighted. Under /console, so only a signed-in teller reaches it."""

from __future__ import annotations

from functools import cache
from html import escape
from pathlib import Path

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from assistant.channels.api.dependencies import Deps
from assistant.channels.console_view import (
    DOCUMENTS_PATH,
    ConsoleWording,
    label_language,
    quoted_span,
)
from assistant.search.catalog import IndexedChunk

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · 江澜银行</title>
<style>
body {{ font: 16px/1.7 system-ui, "WenQuanYi Micro Hei", sans-serif; color: #1f2933;
  max-width: 820px; margin: 0 auto; padding: 16px; }}
header p {{ color: #3e4c59; margin: 0; }}
section {{ padding: 8px 12px; border-left: 4px solid transparent; }}
section.cited {{ border-left-color: #0b4f8a; background: #f0f4f8; }}
mark {{ background: #ffe58a; color: #1f2933; }}
.internal {{ color: #8a1c1c; font-weight: 700; }}
a {{ color: #0b4f8a; }}
</style></head>
<body><header><h1>{title}</h1><p>{facts}</p></header><main>{sections}</main></body></html>
"""


@router.get(DOCUMENTS_PATH + "/{doc_id}", response_class=HTMLResponse)
def document_page(
    doc_id: str,
    deps: Deps,
    chunk: str = Query("", max_length=200),
    quote: str = Query("", max_length=400),
) -> HTMLResponse:
    snapshot = deps.assistant.index.snapshot()
    record = snapshot.documents.get(doc_id)
    if record is None:
        return HTMLResponse(
            "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>未找到</title>"
            "<p>当前知识库中没有这份文档，它可能已被下线或替换。请回到控制台重新提问。</p></html>",
            status_code=404,
        )
    chunks = sorted((c for c in snapshot.chunks if c.doc_id == doc_id), key=lambda c: c.ordinal)
    meta = record.meta
    wording = wording_in(deps.settings.prompts_dir)
    language = label_language(str(meta.get("language", "")))
    facts = [f"{wording('document_id', language)} {escape(doc_id)}"]
    if meta.get("effective_from") or meta.get("effective_to"):
        start = escape(str(meta.get("effective_from") or "—"))
        end = escape(str(meta.get("effective_to") or wording("open_ended", language)))
        facts.append(wording("validity", language, start=start, end=end))
    if meta.get("audience") == "staff":
        facts.append(f"<span class='internal'>{wording('internal', language)}</span>")
    page = PAGE.format(
        lang=escape(str(meta.get("language") or "zh-CN")),
        title=escape(str(meta.get("title") or doc_id)),
        facts=" · ".join(facts),
        sections="\n".join(section_html(c, chunk, quote) for c in chunks),
    )
    return HTMLResponse(page)


@cache
def wording_in(prompts_dir: Path) -> ConsoleWording:
    return ConsoleWording.load(prompts_dir)


def section_html(chunk: IndexedChunk, cited: str, quote: str) -> str:
    """One passage; the cited one carries id=passage, so the link's #passage scrolls to it."""
    heading = f"<h2>{escape(chunk.section)}</h2>" if chunk.section else ""
    if chunk.chunk_id != cited:
        return f"<section>{heading}<p>{paragraphs(chunk.text)}</p></section>"
    span = quoted_span(chunk.text, [quote]) if quote else None
    if span is None:
        body = paragraphs(chunk.text)
    else:
        start, end = span
        body = (
            paragraphs(chunk.text[:start])
            + f"<mark>{paragraphs(chunk.text[start:end])}</mark>"
            + paragraphs(chunk.text[end:])
        )
    return f"<section id='passage' class='cited'>{heading}<p>{body}</p></section>"


def paragraphs(text: str) -> str:
    return escape(text).replace("\n", "<br>")
