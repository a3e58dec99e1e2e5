"""The `assistant` command: ingest, search, ask, serve, guard, eval, recommend. Every error
the assistant raises on purpose is reported in one place (`Commands.invoke`): its message,
on standard error, and exit status 1."""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import click

from assistant.advice.rules import Profile
from assistant.errors import AssistantError, InvalidRequest
from assistant.ingest.documents import PlainFileDefaults
from assistant.memory.audit import AuditTrail
from assistant.memory.store import ConversationStore
from assistant.pipeline import Assistant
from assistant.roles import Audience, Role
from assistant.service import (
    build_assistant,
    embedder_for,
    ingest_paths,
    ingest_summary,
    open_index,
    prepare_vectors,
)
from assistant.settings import Settings, get_settings
from assistant.turn import TurnRequest

ROLE = click.Choice([r.value for r in Role])
# Seconds a stopping server waits for open requests and streams before closing them.
GRACEFUL_SHUTDOWN_S = 5


def _emit(payload: dict[str, Any]) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))


def _fail(message: str) -> NoReturn:
    raise click.ClickException(message)


class Commands(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AssistantError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=Commands)
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
    help="Audience of files that have no front matter; without it they are skipped.",
)
@click.option("--prune", is_flag=True, help="Remove indexed documents not among PATHS.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def ingest(
    paths: tuple[Path, ...],
    index_name: str | None,
    audience: str | None,
    prune: bool,
    as_json: bool,
) -> None:
    """Index documents (default: the knowledge folder). Bad files are reported and skipped;
    the index switches to the new content in one step, or not at all."""
    settings = get_settings()
    index = open_index(settings, index_name)
    targets = list(paths) or [settings.knowledge_dir]
    with click.progressbar(
        length=0, label="embedding", file=sys.stderr, hidden=as_json or not sys.stderr.isatty()
    ) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        defaults = PlainFileDefaults(Audience(audience) if audience else None)
        loaded, report = ingest_paths(index, targets, defaults, prune, progress)
    prepare_vectors(settings, build_assistant(settings, index_name))
    summary = ingest_summary(loaded, report)
    skipped = summary["skipped"]
    if as_json:
        _emit(summary)
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
    passages = build_assistant(get_settings(), index_name).search(query, Role(role), k)
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
@click.option(
    "--profile",
    "profile_file",
    type=click.Path(exists=True, path_type=Path),
    help="Customer profile (JSON) entered by a teller; adds suggestions.",
)
@click.option("--claims", help="Customer role: the app backend's signed profile token.")
@click.option("--index", "index_name", help="Index to answer from (default: settings).")
@click.option("--generator", help="Who writes the answer: extractive, llm (default: settings).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def ask(
    question: str,
    role: str,
    profile_file: Path | None,
    claims: str | None,
    index_name: str | None,
    generator: str | None,
    as_json: bool,
) -> None:
    """Answer QUESTION from the knowledge base, with numbered citations."""
    from assistant.advice.claims import profile_for

    settings = _with_generator(get_settings(), generator)
    stated = _profile(profile_file) if profile_file is not None else None
    profile = profile_for(Role(role), stated, claims, settings.claims_secret)
    turn = build_assistant(settings, index_name).answer(
        TurnRequest(question, Role(role), profile=profile)
    )
    result = turn.as_dict()
    if as_json:
        _emit(result)
        return
    click.echo(result["answer"])
    for citation in result["citations"]:
        click.echo(
            f"[{citation['n']}] {citation['title']} ({citation['doc_id']}) {citation['section']}"
        )
    for item in result.get("suggestions", {}).get("eligible", []):
        if item["why"] not in result["answer"]:
            click.echo(f"suggest  {item['why']}")


@main.command()
@click.option("--host", help="Address to bind (default: settings, 127.0.0.1).")
@click.option("--port", type=int, help="Port to bind (default: settings, 8000).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the HTTP API and the teller console, in one process or several workers."""
    import uvicorn

    from assistant.channels.api import create_app

    settings = get_settings()
    settings = settings.model_copy(update={"embedding_threads": settings.serve_embedding_threads})
    host = host or settings.host
    if not settings.api_keys and host not in ("127.0.0.1", "localhost", "::1"):
        _fail(
            f"refusing to serve on {host} without API keys: set ASSISTANT_API_KEYS, e.g. "
            '\'{"a-long-random-key": "teller"}\', or bind to 127.0.0.1'
        )
    # The per-turn log line (who, what was decided, which documents) is INFO.
    logging.getLogger("assistant").setLevel(logging.INFO)
    # Open pages hold streams (the console's event stream) that never end by themselves; a
    # restart gives them this long to finish, then closes them: the pages reconnect.
    if workers == 1:
        app = create_app(settings)
        uvicorn.run(
            app,
            host=host,
            port=port or settings.port,
            log_level="info",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
        return
    _share_between_workers(settings)
    uvicorn.run(
        "assistant.channels.api.app:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port or settings.port,
        log_level="info",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )


def _share_between_workers(settings: Settings) -> None:
    """What every worker must agree on, given to them through the environment they inherit:
    one rate-limit count, and one key for console sessions (a teller signed in at one
    worker is signed in at all)."""
    os.environ["ASSISTANT_SHARED_RATE_LIMITS"] = "true"
    os.environ["ASSISTANT_EMBEDDING_THREADS"] = str(settings.embedding_threads)
    # Each worker would sign demo visitors with a key of its own, refused by the others.
    os.environ.setdefault("ASSISTANT_DEMO_PAGES", "false")
    if settings.console_secret is None:
        os.environ["ASSISTANT_CONSOLE_SECRET"] = secrets.token_urlsafe(32)


@main.group()
def guard() -> None:
    """Run the compliance guardrail on a text, or on one text per line of a file."""


def _texts(text: str | None, file: str | None) -> tuple[list[str], bool]:
    """The texts to check, and whether they came one per line from a file."""
    if file is not None:
        stream = sys.stdin if file == "-" else open(file, encoding="utf-8")  # noqa: SIM115
        with stream:
            return [line.rstrip("\n") for line in stream if line.strip()], True
    if text is None:
        _fail("give a TEXT or --file F (one text per line, - for standard input)")
    return [text], False


def _print_results(results: list[dict[str, Any]], many: bool, as_json: bool) -> None:
    for result in results:
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False, indent=None if many else 2))
        else:
            click.echo(f"{result['action']}\t{','.join(result['rules']) or '-'}\t{result['text']}")


@guard.command("input")
@click.argument("text", required=False)
@click.option("--file", "file", help="One message per line; - reads standard input.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (one object per line with --file)."
)
def guard_input(text: str | None, file: str | None, as_json: bool) -> None:
    """Check a user message: PII masked, injection refused, hand-offs, off-topic."""
    from assistant.guard import load_guards

    settings = get_settings()
    embedder = embedder_for(settings)
    checker = load_guards(settings.guardrails_dir, embedder)[0]
    texts, many = _texts(text, file)
    _print_results([checker.inspect(t).as_dict() for t in texts], many, as_json)


@guard.command("output")
@click.argument("text", required=False)
@click.option("--role", type=ROLE, default="customer", show_default=True)
@click.option(
    "--sources",
    "sources_file",
    type=click.Path(exists=True, path_type=Path),
    help="A text file with the passages the reply cites.",
)
@click.option("--cite", "cited", multiple=True, help="Id of an indexed document the reply cites.")
@click.option("--file", "file", help="One draft per line; - reads standard input.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (one object per line with --file)."
)
def guard_output(
    text: str | None,
    role: str,
    sources_file: Path | None,
    cited: tuple[str, ...],
    file: str | None,
    as_json: bool,
) -> None:
    """Check a reply draft before anyone sees it."""
    from assistant.guard import SourceDocument

    assistant = build_assistant(get_settings())
    sources = (
        [SourceDocument("--sources", sources_file.read_text(encoding="utf-8"), "public")]
        if sources_file
        else []
    )
    snapshot = assistant.index.snapshot()
    for doc_id in cited:
        if doc_id not in snapshot.documents:
            _fail(f"--cite {doc_id}: no such document in the index")
        meta = snapshot.documents[doc_id].meta
        body = "\n".join(c.text for c in snapshot.chunks if c.doc_id == doc_id)
        sources.append(
            SourceDocument(
                doc_id,
                f"{meta['title']}\n{body}",
                meta["audience"],
                meta.get("category"),
                meta.get("risk_level"),
            )
        )
    texts, many = _texts(text, file)
    view = assistant.view(snapshot)
    results = [assistant.output_guard.inspect(t, sources, role, view=view).as_dict() for t in texts]
    _print_results(results, many, as_json)


@guard.command("train")
@click.option(
    "--only", type=click.Choice(["input", "output"]), help="Rebuild one side's classifier."
)
def guard_train(only: str | None) -> None:
    """Rebuild the guard's classifiers and their data card from the training sources."""
    from assistant.guard import CLASSIFIERS, Classifier, OutputGuard, load_policy
    from assistant.guard.semantic import ACCEPTABLE
    from assistant.guard.training import (
        INJECTION,
        Folders,
        TrainingSettings,
        banking77_split,
        data_card,
        input_examples,
        sentence_examples,
        train,
    )
    from assistant.search.embeddings import load_embedder

    settings = get_settings()
    directory = settings.guardrails_dir
    folders = Folders(directory, settings.evals_dir, settings.knowledge_dir, settings.evaldata_dir)
    if not (folders.evaldata / "prompt_injection").is_dir():
        _fail(f"{folders.evaldata}: no evaluation data here; set ASSISTANT_EVALDATA_DIR")
    training = TrainingSettings.load(directory / "training" / "training.yaml")
    embedder = load_embedder(settings.embedding_model, settings.embedding_threads)
    # With --only, the other side's classifier is kept as it is (and must be sound).
    classifiers = {
        side: Classifier.load(directory / name)
        for side, name in CLASSIFIERS.items()
        if only not in (None, side)
    }
    if only in (None, "input"):
        _, unseen = banking77_split(folders.evaldata / "banking77" / "train.csv")
        classifiers["input"] = train(
            "input",
            input_examples(folders, training),
            [INJECTION, ACCEPTABLE],
            embedder.embed_passages,
            embedder.name,
            training,
            {"banking77 (the other intents)": unseen},
        )
    if only in (None, "output"):
        classifiers["output"] = train(
            "output",
            sentence_examples(folders, training),
            ["promised_return", "superlative", ACCEPTABLE],
            embedder.embed_passages,
            embedder.name,
            training,
            asked=OutputGuard(load_policy(directory)[1]).asks_meaning,
        )
    for side, classifier in classifiers.items():
        classifier.save(directory / CLASSIFIERS[side])
    card = data_card({side: classifiers[side] for side in CLASSIFIERS if side in classifiers})
    (directory / "classifiers" / "README.md").write_text(card, encoding="utf-8")
    click.echo(card)


@main.group()
def audit() -> None:
    """Check and export the audit trail of every turn."""


def _trail() -> AuditTrail:
    settings = get_settings()
    return AuditTrail(settings.audit_database(), settings.audit_key)


@audit.command("verify")
@click.option("--stream", default="turns", show_default=True)
def audit_verify(stream: str) -> None:
    """Report every record altered, deleted, inserted or moved, with its position."""
    count, problems = _trail().verify(stream)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        _fail(f"the audit trail {stream!r} does not verify: {len(problems)} problem(s)")
    click.echo(f"{count} records verify")


@audit.command("export")
@click.option("--from", "start", required=True, help="First day (YYYY-MM-DD), inclusive.")
@click.option("--to", "end", required=True, help="Last day (YYYY-MM-DD), inclusive.")
@click.option("--stream", default="turns", show_default=True)
def audit_export(start: str, end: str, stream: str) -> None:
    """The records of those days as JSON lines, each with the hashes that chain it."""
    for record in _trail().export(start, end, stream):
        click.echo(json.dumps(record, ensure_ascii=False))


@main.group()
def retention() -> None:
    """Remove what is older than the retention periods (run it daily)."""


@retention.command("apply")
def retention_apply() -> None:
    """Remove conversations older than ASSISTANT_SESSION_RETENTION_DAYS and purge audit
    records older than ASSISTANT_AUDIT_RETENTION_DAYS (the purge is recorded in the chain)."""
    settings = get_settings()
    now = datetime.now(UTC)
    turns = ConversationStore(settings.database()).purge(
        now - timedelta(days=settings.session_retention_days)
    )
    records = _trail().purge(now - timedelta(days=settings.audit_retention_days))
    _emit({"turns_removed": turns, "audit_records_purged": records})


@main.group()
def llm() -> None:
    """The local language model: install it, or serve it for several workers to share."""


@llm.command("install")
@click.argument("name", required=False)
def llm_install(name: str | None) -> None:
    """Download the pinned parts of model NAME (default: settings), join them into the data
    folder and verify the file's size and sha256."""
    from assistant.answer.local_model import install, model_spec

    settings = get_settings()
    spec = model_spec(settings.models_file, name or settings.llm_model)
    path = install(spec, settings.models_dir())
    click.echo(f"{spec.name}: {path} ({spec.bytes:,} bytes, sha256 verified)")


@llm.command("serve")
@click.option("--port", type=int, default=8081, show_default=True)
def llm_serve(port: int) -> None:
    """Serve the local model as an OpenAI-compatible server on loopback, for workers set to
    ASSISTANT_LLM_BACKEND=openai and ASSISTANT_LLM_BASE_URL=http://127.0.0.1:PORT/v1."""
    from assistant.answer.local_model import LocalServer, model_spec

    settings = get_settings()
    spec = model_spec(settings.models_file, settings.llm_model)
    server = LocalServer(
        settings.models_dir() / spec.file, settings.llm_threads, settings.llm_context_tokens, port
    ).start()
    click.echo(f"{spec.name} on {server.base_url}; Ctrl-C stops it")
    try:
        assert server.process is not None
        server.process.wait()
    except KeyboardInterrupt:
        server.stop()


@main.group("eval")
def evaluate() -> None:
    """Measure retrieval, answers and the guardrail; write reports under evals/reports/."""


def _with_generator(settings: Settings, generator: str | None) -> Settings:
    return settings.model_copy(update={"generator": generator}) if generator else settings


def _measure(
    measure: str,
    path: Path | None,
    evaluate_set: Callable[[Assistant, list[dict[str, Any]]], dict[str, Any]],
    bars: Callable[[dict[str, Any]], dict[str, float]],
    generators: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Run one measure over a question set (default: the golden set), answering as of the
    set's own day unless ASSISTANT_AS_OF names one, and write its report. With several
    generators, each answers the whole set and the report shows them side by side."""
    from assistant.evaluation import load_question_set, write_report

    settings = get_settings()
    question_set = load_question_set(path or settings.evals_dir / "golden.yaml")
    if settings.as_of is None and question_set.as_of is not None:
        settings = settings.model_copy(update={"as_of": question_set.as_of})
    if len(generators) > 1:
        questions = question_set.questions
        sides = {
            name: evaluate_set(build_assistant(_with_generator(settings, name)), questions)
            for name in generators
        }
        summary: dict[str, Any] = dict(sides)
        shown = {f"{name} {k}": v for name, side in sides.items() for k, v in bars(side).items()}
        measure = f"{measure}-" + "-vs-".join(generators)
    else:
        chosen = _with_generator(settings, generators[0] if generators else None)
        summary = evaluate_set(build_assistant(chosen), question_set.questions)
        shown = bars(summary)
    summary["question_set"] = question_set.name
    summary["as_of"] = settings.today().isoformat()
    report = write_report(
        question_set.report_name(measure), summary, shown, settings.evals_dir / "reports"
    )
    summary["report"] = str(report)
    return summary


def _retrieval_bars(summary: dict[str, Any]) -> dict[str, float]:
    bars = {"recall@1": summary["recall@1"], "recall@5": summary["recall@5"], "MRR": summary["mrr"]}
    return bars | {f"recall@5 {k}": v for k, v in summary["recall@5_by_language"].items()}


def _answer_bars(summary: dict[str, Any]) -> dict[str, float]:
    shown = (
        "fact_coverage",
        "citation_accuracy",
        "gold_document_cited",
        "correct_refusal_rate",
        "answerable_declined",
    )
    return {k: summary[k] for k in shown}


QUESTIONS = click.option(
    "--questions",
    type=click.Path(exists=True, path_type=Path),
    help="Question set (default: evals/golden.yaml).",
)


@evaluate.command("retrieval")
@QUESTIONS
@click.option("--min-recall", type=float, help="Exit 1 when recall@5 is below this.")
@click.option("--json", "as_json", is_flag=True)
def eval_retrieval(questions: Path | None, min_recall: float | None, as_json: bool) -> None:
    """recall@1/@5, MRR, per language, and staff-document leaks to customers."""
    from assistant.evaluation import evaluate_retrieval

    summary = _measure("retrieval", questions, evaluate_retrieval, _retrieval_bars)
    _emit_summary(summary, as_json)
    if min_recall is not None and summary["recall@5"] < min_recall:
        _fail(f"recall@5 {summary['recall@5']} is below the required {min_recall}")
    if summary["leaks"]:
        _fail(f"{summary['leaks']} staff passages were retrievable by customers")


@evaluate.command("answers")
@QUESTIONS
@click.option(
    "--generator",
    "generators",
    multiple=True,
    help="Who writes the answers (repeat to compare: --generator extractive --generator llm).",
)
@click.option("--json", "as_json", is_flag=True)
def eval_answers(questions: Path | None, generators: tuple[str, ...], as_json: bool) -> None:
    """Fact coverage, citation accuracy and correct refusals of whole turns, sentences
    removed by grounding, untraceable figures released, latency and first segment."""
    from assistant.evaluation import evaluate_answers

    summary = _measure("answers", questions, evaluate_answers, _answer_bars, generators)
    _emit_summary(summary, as_json)


# What each kind of held-out guardrail set reports, by the prefix of its file name.
_HELD_OUT_MEASURES = {
    "heldout_inputs": (
        ("attacks refused", "attacks_refused"),
        ("benign refused", "benign_refused"),
    ),
    "heldout_drafts": (
        ("violations caught", "caught_rate"),
        ("compliant touched", "compliant_touched_rate"),
    ),
}


@evaluate.command("guardrails")
@click.option("--json", "as_json", is_flag=True)
def eval_guardrails(as_json: bool) -> None:
    """PII vectors, jailbreak and extraction prompts, violating and compliant drafts, and the
    false-positive rate on real customer queries."""
    from assistant.evaluation import evaluate_guardrails, write_report

    settings = get_settings()
    if not settings.evaldata_dir.is_dir():
        _fail(f"{settings.evaldata_dir} not found; set ASSISTANT_EVALDATA_DIR")
    summary = evaluate_guardrails(settings, settings.evals_dir / "guardrails" / "drafts.yaml")
    bars = {
        "PII recall": summary["pii"]["recall"],
        "injection caught": summary["injection"]["overall_catch_rate"],
        "violating drafts caught": summary["drafts"]["caught_rate"],
        "compliant drafts touched": summary["drafts"]["compliant_touched_rate"],
        **{
            f"{name}: {measure}": summary[name][key]
            for name in sorted(summary)
            for kind, measures in _HELD_OUT_MEASURES.items()
            if name.startswith(kind)
            for measure, key in measures
        },
        "banking77 false positives": summary["benign_traffic"]["banking77_en"][
            "false_positive_rate"
        ],
    }
    summary["report"] = str(
        write_report("guardrails", summary, bars, settings.evals_dir / "reports")
    )
    _emit_summary(summary, as_json)


def _emit_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _emit(summary)
        return
    for key, value in summary.items():
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if not isinstance(v, list)}
        if not isinstance(value, list):
            click.echo(f"{key}: {json.dumps(value, ensure_ascii=False)}")


def _profile(path: Path) -> Profile:
    from pydantic import ValidationError

    try:
        return Profile.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as error:
        raise InvalidRequest(f"{path}: not a valid customer profile: {error}") from None


@main.command()
@click.option(
    "--profile",
    "profile_file",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="Customer profile (JSON).",
)
@click.option("--goal", help="What the customer wants (overrides the profile's goal).")
@click.option("--json", "as_json", is_flag=True)
def recommend(profile_file: Path, goal: str | None, as_json: bool) -> None:
    """Products that suit the customer, why, and why the others do not."""
    result = build_assistant(get_settings()).recommend(_profile(profile_file), goal).as_dict()
    if as_json:
        _emit(result)
        return
    click.echo(f"tier: {result['tier']}  risk assessment valid: {result['risk_assessment_valid']}")
    for item in result["eligible"]:
        click.echo(item["why"])
    for item in result["handoff"]:
        click.echo(f"hand off  {item['id']}: {item['reason']}")
    for item in result["excluded"]:
        click.echo(f"excluded  {item['id']} [{item['rule']}]: {item['reason']}")
