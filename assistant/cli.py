"""The `assistant` command: ingest, search, ask, serve."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from assistant.documents import PlainFileDefaults
from assistant.embeddings import EmbeddingModelError
from assistant.index import IndexNotBuilt
from assistant.pipeline import InvalidRequest, TurnRequest
from assistant.roles import Audience, Role
from assistant.service import build_assistant, ingest_paths, open_index
from assistant.settings import Settings, get_settings

ROLE = click.Choice([r.value for r in Role])


def _emit(payload: dict[str, Any]) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))


def _fail(message: str) -> None:
    raise click.ClickException(message)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, to standard error.")
def main(verbose: bool) -> None:
    """A bank assistant that answers from its knowledge base, with citations."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--index", "index_name", help="Index to write (default: settings).")
@click.option(
    "--audience",
    type=click.Choice([a.value for a in Audience]),
    default="public",
    show_default=True,
    help="Audience of files that have no front matter.",
)
@click.option("--prune", is_flag=True, help="Remove indexed documents not among PATHS.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def ingest(
    paths: tuple[Path, ...], index_name: str | None, audience: str, prune: bool, as_json: bool
) -> None:
    """Index documents (default: the knowledge folder). Bad files are reported and skipped;
    the index switches to the new content in one step, or not at all."""
    settings = get_settings()
    index = _index_or_fail(settings, index_name)
    targets = list(paths) or [settings.knowledge_dir]
    with click.progressbar(
        length=0, label="embedding", file=sys.stderr, hidden=as_json or not sys.stderr.isatty()
    ) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        loaded, report = ingest_paths(
            index, targets, PlainFileDefaults(audience=Audience(audience)), prune, progress
        )
    skipped = [{"source": e.source, "reason": e.reason} for e in loaded.errors]
    if as_json:
        _emit(
            {
                "added": report.added,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "removed": report.removed,
                "skipped": skipped,
                "chunks_embedded": report.chunks_embedded,
                "chunks_total": report.chunks_total,
                "generation": report.generation,
            }
        )
    else:
        click.echo(
            f"{len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.removed)} removed, "
            f"{len(skipped)} skipped; {report.chunks_total} passages "
            f"({report.chunks_embedded} newly embedded)"
        )
        for item in skipped:
            click.echo(f"skipped {item['source']}: {item['reason']}", err=True)
    if skipped:
        sys.exit(1)


@main.command()
@click.argument("query")
@click.option("--role", type=ROLE, default="customer", show_default=True)
@click.option("--k", "k", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--index", "index_name", help="Index to search (default: settings).")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
def search(query: str, role: str, k: int, index_name: str | None, as_json: bool) -> None:
    """Show the passages a role would retrieve for QUERY, best first."""
    assistant = _assistant_or_fail(index_name)
    try:
        passages = assistant.search(query, Role(role), k)
    except IndexNotBuilt as error:
        _fail(str(error))
    if as_json:
        _emit({"query": query, "role": role, "results": [p.as_dict() for p in passages]})
        return
    for rank, passage in enumerate(passages, start=1):
        chunk = passage.chunk
        click.echo(
            f"{rank}. [{chunk.doc_id}] {chunk.title} — {chunk.section or '(intro)'}"
            f"  score={passage.score:.4f} audience={chunk.audience}"
        )
        click.echo("   " + chunk.text.replace("\n", "\n   "))


@main.command()
@click.argument("question")
@click.option("--role", type=ROLE, default="customer", show_default=True)
@click.option("--index", "index_name", help="Index to answer from (default: settings).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def ask(question: str, role: str, index_name: str | None, as_json: bool) -> None:
    """Answer QUESTION from the knowledge base, with numbered citations."""
    assistant = _assistant_or_fail(index_name)
    try:
        result = assistant.answer(TurnRequest(message=question, role=Role(role)))
    except (IndexNotBuilt, InvalidRequest) as error:
        _fail(str(error))
    if as_json:
        _emit(result.as_dict())
        return
    click.echo(result.answer)
    for citation in result.citations:
        click.echo(f"[{citation.n}] {citation.title} ({citation.doc_id}) {citation.section}")


@main.command()
@click.option("--host", help="Address to bind (default: settings, 127.0.0.1).")
@click.option("--port", type=int, help="Port to bind (default: settings, 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the HTTP API and the teller console."""
    import uvicorn

    from assistant.api import create_app

    settings = get_settings()
    app = create_app(settings)
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_level="info")


def _index_or_fail(settings: Settings, index_name: str | None):  # type: ignore[no-untyped-def]
    try:
        return open_index(settings, index_name)
    except EmbeddingModelError as error:
        _fail(str(error))


def _assistant_or_fail(index_name: str | None):  # type: ignore[no-untyped-def]
    try:
        return build_assistant(get_settings(), index_name)
    except EmbeddingModelError as error:
        _fail(str(error))
