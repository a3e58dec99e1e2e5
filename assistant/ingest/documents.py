"""Knowledge documents: the front-matter schema and loading files into validated documents.

A document is Markdown with YAML front matter. Plain .md / .txt files without front matter
are accepted too (a bank's folder of FAQ files), with defaults supplied by the caller.
A file that cannot be read or validated raises DocumentError naming the file and the reason;
callers report it and go on with the rest.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.content import parse_yaml
from assistant.errors import DocumentError
from assistant.ingest.cleaning import clean_web_text
from assistant.ingest.formats import EXTRACTORS
from assistant.roles import Audience
from assistant.text import Language, detect_language

TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
CONVERTED_SUFFIXES = frozenset({".pdf", ".docx", ".html", ".htm"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | CONVERTED_SUFFIXES
MAX_DOCUMENT_BYTES = 20_000_000

# Front matter: a block between two lines of --- (YAML's own ... closes it too), after
# nothing but blank lines.
_FRONT_MATTER = re.compile(
    r"\A\ufeff?(?:[ \t]*\n)*---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL
)
# A file that opens like front matter, whether or not the block is well formed.
_OPENS_FRONT_MATTER = re.compile(r"\A\ufeff?\s*---")
_FIRST_HEADING = re.compile(r"^#\s+(.+)$", re.MULTILINE)

Tier = Literal["mass", "gold", "platinum", "diamond", "private"]
RiskLevel = Literal["R1", "R2", "R3", "R4", "R5"]


class DocumentMeta(BaseModel):
    """Front matter. Unknown fields are rejected so that a typo never silently drops a rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[\w][\w.-]{0,127}$")
    title: str = Field(min_length=1, max_length=200)
    kind: Literal["product", "policy", "procedure", "faq", "reference"] = "faq"
    audience: Audience
    language: Language = "zh-CN"
    effective_from: date | None = None
    effective_to: date | None = None
    # Product sheets only.
    category: str | None = None
    risk_level: RiskLevel | None = None
    tiers: list[Tier] | None = None
    min_amount: float | None = Field(None, ge=0)
    currency: str | None = None
    term: str | None = None
    age_min: int | None = Field(None, ge=0, le=120)
    age_max: int | None = Field(None, ge=0, le=120)
    channels: list[str] | None = None
    fees: str | None = None
    benchmark_yield: str | None = None
    qualified_investor_only: bool = False
    # Policy documents only: the rules code applies, as structured data staff can edit.
    rules: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> DocumentMeta:
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        if self.age_min is not None and self.age_max is not None and self.age_max < self.age_min:
            raise ValueError("age_max is below age_min")
        return self

    def in_effect(self, on: date) -> bool:
        starts_ok = self.effective_from is None or self.effective_from <= on
        return starts_ok and (self.effective_to is None or on <= self.effective_to)


@dataclass(frozen=True)
class Document:
    meta: DocumentMeta
    body: str
    source: str
    content_hash: str = field(default="")
    # Whether the document's own front matter states its audience (a plain file's comes
    # from whoever ingests its folder).
    states_audience: bool = True


@dataclass(frozen=True)
class PlainFileDefaults:
    """What a file without front matter gets: chosen by whoever ingests the folder."""

    # None: a file without front matter is refused, never published by default.
    audience: Audience | None = None
    kind: str = "faq"


def content_hash(meta: DocumentMeta, body: str) -> str:
    payload = meta.model_dump_json() + "\n" + body
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def parse_document(text: str, source: str, defaults: PlainFileDefaults) -> Document:
    """Turn a file's text into a validated Document. Pure: no I/O."""
    if "\x00" in text:
        raise DocumentError(source, "looks like a binary file, not text")
    match = _FRONT_MATTER.match(text)
    if match:
        raw_meta = _parse_front_matter(match.group(1), source)
        body = text[match.end() :].strip()
    elif _OPENS_FRONT_MATTER.match(text):
        raise DocumentError(
            source,
            "opens front matter with --- but no line of --- closes it; fix the front matter "
            "(the file was not indexed, and its indexed version, if any, is kept)",
        )
    else:
        body = clean_web_text(text)
        raw_meta = _plain_file_meta(body, source, defaults)
    if not body.strip():
        raise DocumentError(source, "has no text after the front matter / boilerplate")
    try:
        meta = DocumentMeta.model_validate(raw_meta)
    except ValidationError as exc:
        raise DocumentError(source, _describe(exc)) from None
    return Document(meta, body, source, content_hash(meta, body), states_audience=bool(match))


def load_file(path: Path, defaults: PlainFileDefaults) -> Document:
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise DocumentError(str(path), f"unsupported file type {path.suffix or '(none)'}")
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise DocumentError(str(path), f"larger than {MAX_DOCUMENT_BYTES // 1_000_000} MB")
    if path.suffix.lower() in CONVERTED_SUFFIXES:
        return parse_document(EXTRACTORS[path.suffix.lower()](path), str(path), defaults)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DocumentError(str(path), "is not UTF-8 text; re-save it as UTF-8") from None
    return parse_document(text, str(path), defaults)


def discover(paths: Iterable[Path]) -> Iterator[tuple[Path, Path | None]]:
    """Every supported file under the given files and folders, in a stable order, each with
    the folder it was found in (None for a file named itself)."""
    for path in paths:
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED_SUFFIXES)
            yield from ((p, path) for p in sorted(found) if p.is_file())
        else:
            yield path, None


def _check_inside(path: Path, folder: Path | None) -> None:
    """A file found in a folder must be in it: a link that leads elsewhere (a staff share, a
    home directory) is refused rather than published with the folder's audience."""
    if folder is not None and not path.resolve().is_relative_to(folder.resolve()):
        raise DocumentError(
            str(path), "is a link to a file outside the folder; copy the file in instead"
        )


@dataclass
class LoadReport:
    documents: list[Document] = field(default_factory=list)
    errors: list[DocumentError] = field(default_factory=list)


def load_documents(paths: Iterable[Path], defaults: PlainFileDefaults) -> LoadReport:
    """Load every file; collect errors instead of stopping, and reject duplicate ids."""
    report = LoadReport()
    seen: dict[str, str] = {}
    for path, folder in discover(paths):
        try:
            if not path.exists():
                raise DocumentError(str(path), "does not exist")
            _check_inside(path, folder)
            document = load_file(path, defaults)
        except DocumentError as error:
            report.errors.append(error)
            continue
        first = seen.setdefault(document.meta.id, document.source)
        if first != document.source:
            reason = f"id '{document.meta.id}' is already used by {first}"
            report.errors.append(DocumentError(document.source, reason))
            continue
        report.documents.append(document)
    return report


def _parse_front_matter(block: str, source: str) -> dict[str, object]:
    try:
        data = parse_yaml(block)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (front matter line {where.line + 1})" if where else ""
        raise DocumentError(source, f"front matter is not valid YAML{line}") from None
    if not isinstance(data, dict):
        raise DocumentError(source, "front matter must be a mapping of field: value")
    return data


def _plain_file_meta(body: str, source: str, defaults: PlainFileDefaults) -> dict[str, object]:
    if defaults.audience is None:
        raise DocumentError(
            source,
            "has no front matter, so nothing says who may read it; give an audience for its "
            "folder (`assistant ingest --audience public|staff`, or `audience` in the admin "
            "request), or add front matter",
        )
    stem = Path(source).stem
    heading = _FIRST_HEADING.search(body)
    first_line = next((line.strip() for line in body.splitlines() if line.strip()), stem)
    return {
        "id": re.sub(r"[^\w.-]+", "-", stem).strip("-._") or "document",
        "title": (heading.group(1).strip() if heading else first_line)[:200],
        "kind": defaults.kind,
        "audience": defaults.audience,
        "language": detect_language(body[:2000]),
    }


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "front matter"
        problems.append(f"{where}: {error['msg']}")
    return "invalid front matter: " + "; ".join(problems)
