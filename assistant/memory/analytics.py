"""What the content and compliance team reads off the assistant's own records: turns per day
and channel, the questions it declined grouped by topic (the gaps in the knowledge base),
each 👎 with the reason given, what the guardrail did by rule, hand-offs by state, and the
slowest turns. Pure aggregation over plain records; the thin readers at the bottom turn the
audit trail and the conversation store into those records.

The audit trail is the source for turns: it holds every released turn with its channel,
verdicts and latency, which the store does not. The store holds what only it knows: the
feedback given on a turn, and the state a hand-off is in now.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from assistant.content import parse_yaml
from assistant.database import session_scope
from assistant.errors import ConfigurationError, Unavailable
from assistant.memory.audit import AuditTrail
from assistant.memory.store import (
    ConversationRow,
    ConversationStore,
    FeedbackRow,
    HandoffRow,
    TurnRow,
)

CONTENT_FILE = "analytics.yaml"
RELEASED = "turn.released"
# A spreadsheet reads a cell that starts with one of these as a formula: a question a
# customer typed must not become one in the compliance team's Excel.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Turns a list of texts into L2-normalised vectors, one row each (the assistant's embedder).
Embed = Callable[[list[str]], np.ndarray]


# ----------------------------------------------------------------------------- content


@dataclass(frozen=True)
class AnalyticsContent:
    """prompts/analytics.yaml: thresholds and the names of codes, edited by the content team."""

    default_days: int = 30
    topic_similarity: float = 0.62
    slowest_turns: int = 10
    not_knowledge_gaps: frozenset[str] = frozenset({"policy"})
    decline_reasons: dict[str, str] = field(default_factory=dict)
    guard_actions: dict[str, str] = field(default_factory=dict)
    handoff_states: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    empty: str = "暂无记录 / Nothing recorded."
    no_comment: str = "（未填写原因 / no reason given）"

    @classmethod
    def load(cls, prompts_dir: Path) -> AnalyticsContent:
        path = prompts_dir / CONTENT_FILE
        try:
            data = parse_yaml(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigurationError(f"{path}: cannot be read ({error})") from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"{path}: expected a mapping of settings")
        similarity = float(data.get("topic_similarity", cls.topic_similarity))
        if not 0 < similarity <= 1:
            raise ConfigurationError(f"{path}: topic_similarity must lie in (0, 1]")
        days, slowest = int(data.get("default_days", 30)), int(data.get("slowest_turns", 10))
        if days < 1 or slowest < 1:
            raise ConfigurationError(f"{path}: default_days and slowest_turns must be positive")
        names = {
            key: {str(k): str(v) for k, v in (data.get(key) or {}).items()}
            for key in ("decline_reasons", "guard_actions", "handoff_states", "channels")
        }
        return cls(
            default_days=days,
            topic_similarity=similarity,
            slowest_turns=slowest,
            not_knowledge_gaps=frozenset(map(str, data.get("not_knowledge_gaps") or [])),
            empty=str(data.get("empty", cls.empty)),
            no_comment=str(data.get("no_comment", cls.no_comment)),
            **names,
        )


# ----------------------------------------------------------------------------- records


@dataclass(frozen=True)
class TurnRecord:
    """A released turn, as the audit trail holds it."""

    turn_id: str
    recorded_at: datetime
    channel: str
    role: str
    question: str
    answer: str
    action: str
    # (rule, action) of every verdict the rails gave the turn.
    verdicts: tuple[tuple[str, str], ...] = ()
    decline_reason: str | None = None
    handoff: str | None = None
    latency_ms: float = 0.0
    answered_by: str = ""

    @property
    def day(self) -> date:
        return self.recorded_at.date()


@dataclass(frozen=True)
class FeedbackRecord:
    turn_id: str
    created_at: datetime
    channel: str
    rating: str
    comment: str
    question: str
    answer: str

    @property
    def day(self) -> date:
        return self.created_at.date()


@dataclass(frozen=True)
class HandoffRecord:
    reference: str
    created_at: datetime
    channel: str
    kind: str
    status: str

    @property
    def day(self) -> date:
        return self.created_at.date()


def turn_record(record: dict[str, Any]) -> TurnRecord | None:
    """A trail record (as `AuditTrail.export` yields it) as a turn; None for any record that
    is not a released turn (a turn's start, a retention mark)."""
    if record.get("kind") != RELEASED:
        return None
    payload: dict[str, Any] = record.get("payload") or {}
    handoff = payload.get("handoff") or {}
    return TurnRecord(
        turn_id=str(payload.get("turn_id", "")),
        recorded_at=_utc(datetime.fromisoformat(str(record["recorded_at"]))),
        channel=str(payload.get("channel") or "local"),
        role=str(payload.get("role", "")),
        question=str(payload.get("question", "")),
        answer=str(payload.get("answer", "")),
        action=str(payload.get("action", "allow")),
        verdicts=tuple(
            (str(v.get("rule", "")), str(v.get("action", ""))) for v in payload.get("verdicts", [])
        ),
        decline_reason=payload.get("decline_reason"),
        handoff=handoff.get("reference"),
        latency_ms=float(payload.get("latency_ms") or 0.0),
        answered_by=str(payload.get("answered_by") or ""),
    )


def channel_of(owner: str) -> str:
    """The channel a store owner ("teller:3f…:teller") asked through, as the trail names it."""
    return owner.split(":", 1)[0] or "local"


def _utc(moment: datetime) -> datetime:
    # The store keeps UTC wall time without a zone; the trail writes ISO times in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# ----------------------------------------------------------------------------- the filter


@dataclass(frozen=True)
class Filter:
    """The days (UTC, both ends included) and the channel (None: every channel) to report."""

    start: date
    end: date
    channel: str | None = None

    def admits(self, day: date, channel: str) -> bool:
        return self.start <= day <= self.end and self.channel in (None, channel)


def last_days(today: date, days: int, channel: str | None = None) -> Filter:
    """The last `days` days up to and including `today`."""
    return Filter(today - timedelta(days=days - 1), today, channel)


def parse_day(text: str) -> date:
    """A day typed as YYYY-MM-DD; ValueError saying so otherwise."""
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise ValueError(
            f"日期应写作 YYYY-MM-DD / a date is written YYYY-MM-DD: {text!r}"
        ) from None


# ----------------------------------------------------------------------------- aggregation


@dataclass(frozen=True)
class DayCount:
    day: date
    channel: str
    turns: int


@dataclass(frozen=True)
class Topic:
    """Declined questions alike enough to be one gap: named by its most central question."""

    label: str
    count: int
    # Each distinct question of the topic with how often it was asked, most asked first.
    questions: tuple[tuple[str, int], ...]
    # Why they were declined (decline reason codes), most frequent first.
    reasons: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class RuleCount:
    rule: str
    action: str
    turns: int


@dataclass(frozen=True)
class StateCount:
    status: str
    kind: str
    handoffs: int


def turns_per_day(turns: Iterable[TurnRecord]) -> list[DayCount]:
    counts = Counter((t.day, t.channel) for t in turns)
    return [DayCount(day, channel, n) for (day, channel), n in sorted(counts.items())]


def knowledge_gaps(
    turns: Iterable[TurnRecord], not_gaps: frozenset[str] = frozenset()
) -> list[TurnRecord]:
    """The turns the assistant declined for want of an answer in its documents."""
    return [t for t in turns if t.decline_reason and t.decline_reason not in not_gaps]


def group_alike(vectors: np.ndarray, weights: Sequence[int], threshold: float) -> list[list[int]]:
    """Greedy grouping by cosine similarity: items in the order given (most asked first)
    join the group whose centroid they are most alike, when at least `threshold` alike,
    else start a group. Rows of `vectors` are L2-normalised. Groups by total weight, then
    by first appearance."""
    vectors = np.asarray(vectors, dtype=np.float32)
    groups: list[list[int]] = []
    # Each group's weighted sum of vectors: its centroid's direction.
    sums = np.zeros_like(vectors)
    for i, vector in enumerate(vectors):
        if groups:
            totals = sums[: len(groups)]
            similarity = (totals @ vector) / np.maximum(np.linalg.norm(totals, axis=1), 1e-12)
            best = int(np.argmax(similarity))
            if similarity[best] >= threshold:
                groups[best].append(i)
                sums[best] += vector * weights[i]
                continue
        sums[len(groups)] = vector * weights[i]
        groups.append([i])
    order = sorted(range(len(groups)), key=lambda g: (-sum(weights[i] for i in groups[g]), g))
    return [groups[g] for g in order]


def most_central(vectors: np.ndarray, members: Sequence[int], weights: Sequence[int]) -> int:
    """The member most alike the rest of its group, counting each as often as it was asked."""
    block = np.asarray(vectors, dtype=np.float32)[list(members)]
    weight = np.asarray([weights[i] for i in members], dtype=np.float32)
    closeness = (block @ block.T) @ weight
    return int(members[int(np.argmax(closeness))])


def topics(declined: Sequence[TurnRecord], embed: Embed, threshold: float) -> list[Topic]:
    """The declined questions grouped into topics by meaning, largest first. Each distinct
    question is embedded once, however often it was asked."""
    asked = Counter(t.question for t in declined if t.question.strip())
    if not asked:
        return []
    distinct = sorted(asked, key=lambda q: (-asked[q], q))
    weights = [asked[q] for q in distinct]
    vectors = np.asarray(embed(distinct), dtype=np.float32)
    reasons: dict[str, Counter[str]] = {}
    for t in declined:
        reasons.setdefault(t.question, Counter())[str(t.decline_reason)] += 1
    found: list[Topic] = []
    for members in group_alike(vectors, weights, threshold):
        why: Counter[str] = sum((reasons[distinct[i]] for i in members), Counter())
        found.append(
            Topic(
                label=distinct[most_central(vectors, members, weights)],
                count=sum(weights[i] for i in members),
                questions=tuple((distinct[i], weights[i]) for i in members),
                reasons=tuple(sorted(why.items(), key=lambda item: (-item[1], item[0]))),
            )
        )
    return found


def guard_actions(turns: Iterable[TurnRecord]) -> list[RuleCount]:
    """How many turns each rule acted on (masked, rewrote, handed off, blocked), among the
    turns the rails did not simply allow; most first. A rule counts once per turn."""
    counts: Counter[tuple[str, str]] = Counter()
    for turn in turns:
        if turn.action != "allow":
            counts.update({(rule, action) for rule, action in turn.verdicts if action != "allow"})
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [RuleCount(rule, action, n) for (rule, action), n in ranked]


def handoffs_by_state(handoffs: Iterable[HandoffRecord]) -> list[StateCount]:
    counts = Counter((h.status, h.kind) for h in handoffs)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [StateCount(status, kind, n) for (status, kind), n in ranked]


def thumbs_down(feedback: Iterable[FeedbackRecord]) -> list[FeedbackRecord]:
    """Every 👎, newest first (dated when it was given, not when the turn was)."""
    return sorted((f for f in feedback if f.rating == "down"), key=lambda f: f.created_at)[::-1]


def slowest(turns: Iterable[TurnRecord], n: int) -> list[TurnRecord]:
    return sorted(turns, key=lambda t: (-t.latency_ms, t.recorded_at))[:n]


# The turns table as exported: (header, value of a turn).
CSV_COLUMNS: tuple[tuple[str, Callable[[TurnRecord], object]], ...] = (
    ("时间 recorded_at (UTC)", lambda t: t.recorded_at.isoformat(timespec="seconds")),
    ("渠道 channel", lambda t: t.channel),
    ("角色 role", lambda t: t.role),
    ("问题 question", lambda t: t.question),
    ("回答 answer", lambda t: t.answer),
    ("处理 action", lambda t: t.action),
    ("规则 rules", lambda t: " ".join(dict.fromkeys(rule for rule, _ in t.verdicts))),
    ("拒答原因 decline_reason", lambda t: t.decline_reason or ""),
    ("转人工单号 handoff", lambda t: t.handoff or ""),
    ("耗时 latency_ms", lambda t: t.latency_ms),
    ("回答方式 answered_by", lambda t: t.answered_by),
    ("turn_id", lambda t: t.turn_id),
)


def turns_csv(turns: Iterable[TurnRecord]) -> bytes:
    """The turns as CSV in UTF-8 with a byte-order mark, which Excel needs to read Chinese
    as Chinese; no cell can start a formula."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for header, _ in CSV_COLUMNS])
    for turn in turns:
        writer.writerow([_inert(value(turn)) for _, value in CSV_COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def _inert(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class Report:
    filter: Filter
    turns: list[TurnRecord]
    per_day: list[DayCount]
    gaps: list[TurnRecord]
    topics: list[Topic]
    thumbs_down: list[FeedbackRecord]
    guard_actions: list[RuleCount]
    handoffs: list[StateCount]
    slowest: list[TurnRecord]

    @property
    def empty(self) -> bool:
        return not (self.turns or self.thumbs_down or self.handoffs)


def report(
    chosen: Filter,
    turns: Iterable[TurnRecord],
    feedback: Iterable[FeedbackRecord],
    handoffs: Iterable[HandoffRecord],
    embed: Embed,
    content: AnalyticsContent,
) -> Report:
    """Every section of the page, for the records the filter admits."""
    kept = [t for t in turns if chosen.admits(t.day, t.channel)]
    gaps = knowledge_gaps(kept, content.not_knowledge_gaps)
    return Report(
        filter=chosen,
        turns=kept,
        per_day=turns_per_day(kept),
        gaps=gaps,
        topics=topics(gaps, embed, content.topic_similarity),
        thumbs_down=thumbs_down(f for f in feedback if chosen.admits(f.day, f.channel)),
        guard_actions=guard_actions(kept),
        handoffs=handoffs_by_state(h for h in handoffs if chosen.admits(h.day, h.channel)),
        slowest=slowest(kept, content.slowest_turns),
    )


# ----------------------------------------------------------------------------- reading


class AnalyticsReader:
    """Reads the records a filter asks for from the audit trail and the conversation store."""

    def __init__(self, trail: AuditTrail, store: ConversationStore) -> None:
        self.trail = trail
        self.store = store

    def turns(self, chosen: Filter) -> list[TurnRecord]:
        records = self.trail.export(chosen.start.isoformat(), chosen.end.isoformat())
        found = (turn_record(r) for r in records)
        return [t for t in found if t is not None and chosen.admits(t.day, t.channel)]

    def feedback(self, chosen: Filter) -> list[FeedbackRecord]:
        query = (
            select(
                FeedbackRow.turn_id,
                FeedbackRow.created_at,
                FeedbackRow.rating,
                FeedbackRow.comment,
                TurnRow.question,
                TurnRow.answer,
                ConversationRow.owner,
            )
            .join(TurnRow, TurnRow.id == FeedbackRow.turn_id)
            .join(ConversationRow, ConversationRow.id == TurnRow.session_id)
            .where(*_within(FeedbackRow.created_at, chosen))
        )
        with session_scope(self.store.engine, False, _unavailable) as session:
            rows = session.execute(query).all()
        found = (
            FeedbackRecord(
                turn_id, _utc(at), channel_of(owner), rating, comment or "", question, answer
            )
            for turn_id, at, rating, comment, question, answer, owner in rows
        )
        return [f for f in found if chosen.admits(f.day, f.channel)]

    def handoffs(self, chosen: Filter) -> list[HandoffRecord]:
        # Only the columns read here: the hand-off table gains columns of its own elsewhere.
        query = (
            select(
                HandoffRow.id,
                HandoffRow.created_at,
                HandoffRow.kind,
                HandoffRow.status,
                ConversationRow.owner,
            )
            .join(ConversationRow, ConversationRow.id == HandoffRow.session_id)
            .where(*_within(HandoffRow.created_at, chosen))
        )
        with session_scope(self.store.engine, False, _unavailable) as session:
            rows = session.execute(query).all()
        found = (
            HandoffRecord(reference, _utc(at), channel_of(owner), kind, status)
            for reference, at, kind, status, owner in rows
        )
        return [h for h in found if chosen.admits(h.day, h.channel)]


def _within(column: Any, chosen: Filter) -> list[Any]:
    # The store keeps UTC wall time without a zone; the filter's last day is included.
    start = datetime.combine(chosen.start, datetime.min.time())
    return [column >= start, column < start + timedelta(days=(chosen.end - chosen.start).days + 1)]


def _unavailable(error: SQLAlchemyError) -> Unavailable:
    return Unavailable(
        f"the conversation store cannot be read ({type(error).__name__}); try again shortly"
    )
