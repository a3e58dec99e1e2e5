"""Split a document into passages that follow its headings and never cut a sentence in half.

Each chunk remembers the heading path it sits under ("利率 > 提前支取"), so a passage read
on its own still says what it is about, and so does its embedding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.ingest.documents import Document
from assistant.text import split_sentences

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}")


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    ordinal: int
    section: str
    text: str

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.ordinal}"


def embedding_text(title: str, section: str, text: str) -> str:
    """What the dense index sees: the passage under its document title and section."""
    heading = f"{title} > {section}" if section else title
    return f"{heading}\n{text}"


def sections(body: str) -> list[tuple[str, list[str]]]:
    """Group the body's lines under their heading path; the title heading itself is dropped."""
    path: list[tuple[int, str]] = []
    grouped: list[tuple[str, list[str]]] = [("", [])]
    for line in body.splitlines():
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            path = [(lvl, text) for lvl, text in path if lvl < level]
            path.append((level, heading.group(2)))
            titled = [text for lvl, text in path if lvl > 1]
            grouped.append((" > ".join(titled), []))
        elif not _TABLE_RULE.match(line.strip()):
            grouped[-1][1].append(line)
    return [(name, lines) for name, lines in grouped if any(line.strip() for line in lines)]


def pack(units: list[str], size: int, overlap: int) -> list[str]:
    """Greedily pack sentences into chunks of about `size` characters, repeating `overlap`
    sentences between neighbours. A sentence longer than `size` is cut at `size`."""
    pieces: list[str] = []
    for unit in units:
        pieces.extend(unit[i : i + size] for i in range(0, len(unit), size))
    chunks: list[str] = []
    current: list[str] = []
    for piece in pieces:
        if current and sum(map(len, current)) + len(piece) > size:
            chunks.append(_join(current))
            current = current[-overlap:] if overlap else []
            while current and sum(map(len, current)) + len(piece) > size:
                current.pop(0)
        current.append(piece)
    if current:
        chunks.append(_join(current))
    return chunks


def chunk_document(document: Document, size: int, overlap: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section, lines in sections(document.body):
        units: list[str] = []
        for line in lines:
            stripped = line.strip()
            if not stripped:
                continue
            # Table rows and list items are already self-contained units.
            if stripped.startswith(("|", "-", "*")) or re.match(r"^\d+[.、)]", stripped):
                units.append(stripped)
            else:
                units.extend(split_sentences(stripped))
        for text in pack(units, size, overlap):
            chunks.append(Chunk(document.meta.id, len(chunks), section, text))
    return chunks


_SENTENCE_FINAL = tuple("。！？；：.!?;:")


def _join(units: list[str]) -> str:
    """Chinese sentences join without spaces and Latin ones with a space; anything that is
    not a finished sentence (a plain-text heading, a table row, a list item) keeps its line."""
    out = units[0]
    for unit in units[1:]:
        if not out.endswith(_SENTENCE_FINAL) or unit.startswith(("|", "-", "*")):
            out += "\n" + unit
        elif out[-1:].isascii() and unit[:1].isascii():
            out += " " + unit
        else:
            out += unit
    return out
