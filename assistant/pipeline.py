"""One conversational turn, one pass through explicit stages (see README "How a turn works"):

    guard-in -> contextualize -> retrieve -> advise -> generate -> ground -> guard-out -> record

One index snapshot is taken when the turn begins and every stage reads that one, so a
re-index in the middle of a turn cannot mix two generations. Nothing reaches retrieval, a
model or the store before the input guard has masked personal data; nothing reaches the
user before the output guard has passed it: the generator's answer, the suggestions and the
hand-off reply alike. A reply in a writer's own words (a language model's) is first traced
sentence by sentence to the passages it cites. The whole answer and the stream are the same
stages; the stream only releases each sentence as soon as the output rails passed it.
"""

from __future__ import annotations

import copy
import logging
import re
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from itertools import chain
from typing import Any

from assistant import audit
from assistant.advice.advisor import Advice, Advisor
from assistant.advice.rules import Profile
from assistant.answer.composer import localise
from assistant.answer.conversation import FollowUps
from assistant.answer.generator import (
    Citation,
    Draft,
    DraftStream,
    GenerationInput,
    Generator,
    Preparer,
    Rewriter,
    streamed,
)
from assistant.answer.wording import ComposerWording
from assistant.errors import InvalidRequest, NotFound
from assistant.guard import (
    Action,
    InputGuard,
    KnowledgeView,
    OutputGuard,
    OutputRule,
    Screened,
    SourceDocument,
    Verdict,
    most_severe,
    says_nothing,
)
from assistant.guard.grounding import Evidence, Grounding, Negators
from assistant.roles import Role, audiences_for
from assistant.search.glossary import Glossary
from assistant.search.index import KnowledgeIndex, Snapshot
from assistant.search.retrieval import Passage, narrowed, search
from assistant.search.subjects import ENGLISH_TWIN, Subject, SubjectCatalogue, TitleRules
from assistant.settings import Settings
from assistant.text import Language, detect_language, not_text, segments, unknown_nouns
from assistant.turn import Audit, Handoff, Memory, NoMemory, TurnRequest, TurnResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """What goes to the output rails: the text as it is written, what it may cite, and the
    documents its figures and claims are checked against."""

    draft: DraftStream
    sources: list[SourceDocument]


@dataclass
class Turn:
    """A turn in flight: what each stage learned, for the stages after it."""

    request: TurnRequest
    # The one index generation the turn reads; none for a turn the input guard stopped.
    snapshot: Snapshot | None
    language: Language
    screened: Screened
    session_id: str
    turn_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The question as retrieval and the generator read it.
    standalone: str = ""
    started: float = field(default_factory=time.perf_counter)
    passages: list[Passage] = field(default_factory=list)
    # What the question is about, where retrieval confirmed it; empty when it names nothing.
    subject: Subject = field(default_factory=Subject)
    # For a question about a named policy or procedure, every passage retrieved: the answer
    # falls back on them when the named documents are silent.
    wider: list[Passage] = field(default_factory=list)
    advice: Advice | None = None
    handoff: Handoff | None = None

    @property
    def stopped(self) -> bool:
        """The input guard refused the message or handed it to a person."""
        return self.screened.action in ("block", "handoff")

    @property
    def index(self) -> Snapshot:
        """The generation a turn that goes on to retrieval reads."""
        assert self.snapshot is not None, "a stopped turn reads no index"
        return self.snapshot


def source_documents(snapshot: Snapshot, citations: list[Citation]) -> list[SourceDocument]:
    """What a reply cites, as the output guard sees it: the cited passages with their
    document's audience, category and risk level."""
    sources = []
    for citation in citations:
        record = snapshot.documents.get(citation.doc_id)
        meta = record.meta if record else {}
        sources.append(
            SourceDocument(
                doc_id=citation.doc_id,
                text=f"{citation.title}\n{citation.passage}",
                # A cited document the generation does not know is treated as staff's.
                audience=str(meta.get("audience", "staff")),
                category=meta.get("category"),
                risk_level=meta.get("risk_level"),
            )
        )
    return sources


def knowledge_view(snapshot: Snapshot, rule: OutputRule) -> KnowledgeView:
    texts: dict[str, list[str]] = {}
    for chunk in snapshot.chunks:
        texts.setdefault(chunk.doc_id, []).append(chunk.text)
    return KnowledgeView(
        [
            SourceDocument(doc_id, "\n".join(parts), snapshot.documents[doc_id].meta["audience"])
            for doc_id, parts in texts.items()
        ],
        rule.shingle or 12,
        rule.topics,
    )


def evidence_of(citations: list[Citation]) -> dict[int, str]:
    """What each passage a writer was shown says, by its number, title and section included."""
    return {c.n: f"{c.title} {c.section}\n{c.passage}" for c in citations}


def writer_notes(draft: DraftStream) -> list[Verdict]:
    """What the writer reported about its draft (a fall-back, a decline before asking the
    model), kept with the turn's verdicts."""
    return [
        Verdict("generator", "allow", note, "a writer that cannot answer is replaced, not guessed")
        for note in draft.notes
    ]


def _worst(verdicts: list[Verdict]) -> Action:
    return most_severe(v.action for v in verdicts)


def _in_language(
    doc_id: str, language: Language, documents: Mapping[str, Any], readable: set[str]
) -> str:
    """The version of a document in the reader's language, where there is one the reader
    may see; else the document itself (which retrieval already let the reader see)."""
    chinese = doc_id.removesuffix(ENGLISH_TWIN)
    wanted = f"{chinese}{ENGLISH_TWIN}" if language == "en" else chinese
    visible = wanted in documents and documents[wanted].meta.get("audience") in readable
    return wanted if visible else doc_id


def new_handoff_reference() -> str:
    """H, the day, and six characters: short enough to read out on the phone."""
    return "H" + time.strftime("%Y%m%d") + uuid.uuid4().hex[:6].upper()


def cited_numbers(text: str) -> set[int]:
    return set(map(int, re.findall(r"\[(\d+)\]", text)))


class Assistant:
    def __init__(
        self,
        settings: Settings,
        index: KnowledgeIndex,
        generator: Generator,
        input_guard: InputGuard,
        output_guard: OutputGuard,
        advisor: Advisor,
        wording: ComposerWording,
        follow_ups: FollowUps,
        glossary: Glossary | None = None,
        memory: Memory | None = None,
        provenance: dict[str, str] | None = None,
        title_rules: TitleRules | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        self.embedder = index.embedder
        self.generator = generator
        self.input_guard = input_guard
        self.output_guard = output_guard
        self.advisor = advisor
        self.wording = wording
        self.follow_ups = follow_ups
        self.glossary = glossary or Glossary()
        negation = output_guard.policy.negation
        self.grounding = Grounding(
            self.glossary,
            settings.grounding_attribution,
            Negators((*negation.zh, *negation.en), negation.not_negation),
        )
        self.memory: Memory = memory or NoMemory()
        self.audit: Audit | None = None
        # What produced the answers: generator, prompt and policy hashes (for the audit).
        self.provenance = {"generator": generator.name, **(provenance or {})}
        # Built once per generation, kept while a turn still reads that generation.
        self._views: weakref.WeakKeyDictionary[Snapshot, KnowledgeView] = (
            weakref.WeakKeyDictionary()
        )
        self.title_rules = title_rules or TitleRules()
        self._subjects: weakref.WeakKeyDictionary[Snapshot, SubjectCatalogue] = (
            weakref.WeakKeyDictionary()
        )

    def with_memory(self, memory: Memory, audit: Audit | None = None) -> Assistant:
        """The same assistant (models, index, guards shared), remembering its turns in
        `memory` and, with `audit`, recording each for compliance."""
        remembering = copy.copy(self)
        remembering.memory = memory
        remembering.audit = audit
        return remembering

    # ------------------------------------------------------------------ the two entry points

    def answer(self, request: TurnRequest) -> TurnResult:
        """One whole turn: exactly what the stream would have released, as one result."""
        *_, result = self.stream(request)
        assert isinstance(result, TurnResult)
        return result

    def stream(self, request: TurnRequest) -> Iterator[str | TurnResult]:
        """The same turn, released segment by segment, each only after the output rails
        passed it; the last item is the whole TurnResult. Everything that can refuse the
        turn (validation, the session's owner, an index not built, an audit trail that
        cannot be written) raises here, before the first segment."""
        turn, reply = self._prepare(request)
        self._audit("turn.started", audit.started(turn.request, turn.turn_id, turn.session_id))
        return self._release(turn, self._helpful(turn, reply))

    def _audit(self, kind: str, payload: dict[str, Any]) -> None:
        if self.audit is not None:
            self.audit.append("turns", kind, {**payload, **self.provenance})

    def _release(self, turn: Turn, reply: Reply) -> Iterator[str | TurnResult]:
        """guard-out, then record: each sentence leaves only after the output rails passed
        it; a reply of which nothing useful is left becomes the safe answer."""
        verdicts: list[Verdict] = []
        released: list[str] = []
        draft = reply.draft
        pieces = draft.pieces if draft.quoted else self._grounded(turn, draft, verdicts)
        try:
            for segment in self.output_guard.review_stream(
                pieces,
                reply.sources,
                str(turn.request.role),
                turn.language,
                self._view_of(turn.snapshot),
                verdicts,
            ):
                released.append(segment)
                yield segment
        except (GeneratorExit, Exception):
            # The reader went away, or the writer failed, mid-reply: what was shown (a
            # hand-off reference, say) is still the turn's record.
            self._record(turn, reply, "".join(released), verdicts, _worst(verdicts))
            raise
        text, action = "".join(released), _worst(verdicts)
        if says_nothing(text) and (verdicts or not draft.quoted):
            if all(v.rule == "grounding" for v in verdicts):
                # Nothing the writer said could be traced to its passages: it did not answer.
                draft.decline_reason = self._reason(turn, "no_evidence")
                help_text = self._decline_help(turn, draft.decline_reason)
                text, draft.grounded = f"{self.wording.decline[turn.language]}{help_text}", False
            else:
                text, action = self.output_guard.safe_answer(turn.language), "block"
            yield text
        yield self._record(turn, reply, text, verdicts, action)

    def _helpful(self, turn: Turn, reply: Reply) -> Reply:
        """A decline says why, and offers the next step that fits the reader: the closest
        documents, and the hotline and a person for a customer, or the team that owns the
        topic for staff, never "call the hotline"."""
        draft = reply.draft
        # A writer (a plugin, say) may decline without saying why: it found no evidence.
        declined = not (turn.stopped or draft.grounded or draft.citations)
        if draft.decline_reason is None and not declined:
            return reply  # an answer, or the input rails' own reply
        draft.decline_reason = self._reason(turn, draft.decline_reason or "no_evidence")
        help_text = self._decline_help(turn, draft.decline_reason)
        draft.pieces = chain(draft.pieces, segments(help_text))
        wording = SourceDocument("bank-wording", help_text, "public")
        return Reply(draft, [*reply.sources, wording])

    def _reason(self, turn: Turn, reason: str) -> str:
        """A question about a named product that its own documents do not answer is
        declined because they are silent, whatever check found it."""
        if turn.subject and reason in ("no_evidence", "subject_absent"):
            return "subject_silent"
        return reason

    def _decline_help(self, turn: Turn, reason: str) -> str:
        language, wording = turn.language, self.wording
        documents = turn.index.documents
        lines = []
        if reason == "subject_silent" and (title := self._subject_title(turn)):
            lines.append(wording.decline_subject_silent[language].format(title=title))
        readable = {str(a) for a in audiences_for(turn.request.role)}
        closest = list(
            dict.fromkeys(
                _in_language(p.chunk.doc_id, language, documents, readable) for p in turn.passages
            )
        )[:3]
        if closest:
            titles = [documents[d].meta.get("title", d) for d in closest]
            listed = (
                ", ".join(f"“{t}”" for t in titles)
                if language == "en"
                else "、".join(f"《{t}》" for t in titles)
            )
            lines.append(wording.decline_closest[language].format(titles=listed))
        if turn.request.role is Role.customer:
            lines.append(wording.decline_next_customer[language])
        else:
            category = documents[closest[0]].meta.get("category") if closest else None
            owner = wording.owner(category, language)
            lines.append(wording.decline_next_staff[language].format(owner=owner))
        return "".join(f"\n{localise(line, language)}" for line in lines)

    def _subject_title(self, turn: Turn) -> str | None:
        """The title of the product asked about, in the reader's language where there is a
        version in it, and only one the reader may see."""
        readable = {str(a) for a in audiences_for(turn.request.role)}
        documents = turn.index.documents
        products = sorted(
            d
            for d in turn.subject.products
            if d in documents and documents[d].meta.get("audience") in readable
        )
        if not products:
            return None
        preferred = [d for d in products if d.endswith(ENGLISH_TWIN) == (turn.language == "en")]
        return str(documents[(preferred or products)[0]].meta.get("title"))

    def _grounded(self, turn: Turn, draft: DraftStream, verdicts: list[Verdict]) -> Iterator[str]:
        """ground: a draft in a writer's own words, each sentence traced to what it cites."""
        idf = turn.index.bm25.idf
        never_used = idf("\x00")  # the weight of a word no document uses
        evidence = Evidence(
            evidence_of(draft.citations), turn.standalone, lambda w: idf(w) >= never_used
        )
        return self.grounding.checked(draft.pieces, evidence, verdicts)

    # ------------------------------------------------------------------ stages

    def validate(self, request: TurnRequest) -> str:
        for text in (request.message, *request.history):
            problem = not_text(text)
            if problem:
                raise InvalidRequest(f"the message cannot be read: {problem}")
        message = request.message.strip()
        if not message:
            raise InvalidRequest("the message is empty; type a question")
        if len(message) > self.settings.max_message_chars:
            raise InvalidRequest(
                f"the message is {len(message)} characters; the limit is "
                f"{self.settings.max_message_chars}. Shorten it or split it into questions."
            )
        return message

    def _prepare(self, request: TurnRequest) -> tuple[Turn, Reply]:
        """Every stage before the output rails: guard-in, contextualize, retrieve, advise,
        generate."""
        message = self.validate(request)
        session_id = self._session(request)
        language = detect_language(message)
        screened = self.input_guard.inspect(message, language)
        turn = Turn(request, None, language, screened, session_id)
        if turn.stopped:  # a refusal or a hand-off needs no index, even when none is built
            return turn, self._refusal(turn)
        turn.snapshot = self.index.snapshot()
        question = turn.standalone = self._contextualize(turn)
        turn.passages, turn.subject, turn.wider = self._retrieve_about(
            turn.index, question, request.role
        )
        if request.profile is not None:
            goal = self._searchable(request.profile.goal) or screened.searchable
            turn.advice = self._advise(turn.index, request.profile, goal, language)
        return turn, self._generate(turn, question)

    def _searchable(self, text: str | None) -> str | None:
        """Text from elsewhere than this message (a profile's goal, earlier questions), as
        retrieval may read it: personal data masked, mask labels out."""
        return self.input_guard.inspect(text).searchable if text else text

    def _session(self, request: TurnRequest) -> str:
        """The session the turn belongs to: the caller's own, or a new one."""
        if request.session_id is None:
            return uuid.uuid4().hex
        if self.memory.owner_of(request.session_id) not in (None, request.owner):
            raise NotFound(f"no session {request.session_id} for this caller")
        return request.session_id

    def _contextualize(self, turn: Turn) -> str:
        """The question to search and answer: masks out, a follow-up read against the
        session's earlier questions, typing slips corrected."""
        request = turn.request
        history = request.history
        if request.session_id and not history:
            history = tuple(
                self.memory.history(request.session_id, request.owner, self.settings.history_turns)
            )
        earlier = [self._searchable(text) or "" for text in history]
        message = turn.screened.searchable
        question = self.follow_ups.contextualize(earlier, message, turn.language)
        if question != message and isinstance(self.generator, Rewriter):
            # A model reads the follow-up against the session better than the rule does;
            # the rule's reading stands when it cannot, or writes what the input rails or the
            # message limits would not take from a person.
            rewritten = self.generator.rewrite(earlier, message)
            if rewritten and self._acceptable_rewrite(rewritten, turn.language):
                question = rewritten
        return turn.index.speller.correct(question)

    def _acceptable_rewrite(self, text: str, language: Language) -> bool:
        if len(text) > self.settings.max_message_chars or not_text(text):
            return False
        if (detect_language(text) == "en") != (language == "en"):
            return False
        return self.input_guard.inspect(text, language).action == "allow"

    def _retrieve(
        self, snapshot: Snapshot, query: str, role: Role, k: int | None = None
    ) -> list[Passage]:
        return search(
            snapshot,
            self.embedder,
            query,
            role,
            k or self.settings.top_k,
            self.settings.today(),
            pool=self.settings.candidate_pool,
            rrf_k=self.settings.rrf_k,
            glossary=self.glossary,
        )

    def _retrieve_about(
        self, snapshot: Snapshot, question: str, role: Role
    ) -> tuple[list[Passage], Subject, list[Passage]]:
        """The passages that may answer what the question is about (another product's
        sheet never answers a question about this one), the subject, and for a named
        policy or procedure the wider set to fall back on."""
        ranked = self._retrieve(snapshot, question, role, self.settings.candidate_pool)
        subject = self.subjects(snapshot).of(question)
        if self.settings.subject_general_passages == "naming":
            subject = replace(subject, general_must_name=True)
        passages, subject = narrowed(ranked, subject, self.settings.subject_confirmation)
        top = self.settings.top_k
        wider = ranked[:top] if subject and not subject.products else []
        return passages[:top], subject, wider

    def passages_for(self, question: str, role: Role) -> list[Passage]:
        """The passages a turn's generator reads for this question: retrieved, then
        narrowed to its subject."""
        return self._retrieve_about(self.index.snapshot(), question, role)[0]

    def prepare(self) -> None:
        """Do now what the first turn would otherwise wait seconds for: open the current
        generation with its vectors, build what is kept per generation (the subject
        catalogue, the spelling targets, the staff/public view), and load the models the
        input rails and retrieval use."""
        snapshot = self.index.snapshot()
        snapshot.vectors.count()
        self.subjects(snapshot)
        self.view(snapshot)
        # A passage's title, read as a question would be, loads what a turn loads: the
        # input rails' model, the speller, the embedder and the part-of-speech tagger the
        # composer asks what a question is about.
        for chunk in snapshot.chunks[:1]:
            question = self.input_guard.inspect(chunk.title).searchable
            self.embedder.embed_query(snapshot.speller.correct(question))
            unknown_nouns(question)

    def texts_to_prepare(self, snapshot: Snapshot) -> list[str]:
        """What turns embed of this generation's passages whatever the question: the
        generator's sentences read in context. An ingest embeds them ahead of the turns."""
        if not isinstance(self.generator, Preparer):
            return []
        return [text for chunk in snapshot.chunks for text in self.generator.prepared_texts(chunk)]

    def subjects(self, snapshot: Snapshot) -> SubjectCatalogue:
        """The generation's catalogue of what its documents are about, built once."""
        catalogue = self._subjects.get(snapshot)
        if catalogue is None:
            catalogue = SubjectCatalogue(
                snapshot.documents, snapshot.chunks, self.glossary, self.title_rules
            )
            self._subjects[snapshot] = catalogue
        return catalogue

    def _advise(
        self, snapshot: Snapshot, profile: Profile, goal: str | None, language: Language
    ) -> Advice:
        return self.advisor.advise(
            snapshot,
            self.view(snapshot),
            profile,
            self.settings.today(),
            goal,
            lambda text: self._retrieve(snapshot, text, Role.customer, 50),
            language,
        )

    def _generate(self, turn: Turn, question: str) -> Reply:
        """The generator's answer; when it declines and suggestions fit the customer, the
        suggestions answer "what suits me?" instead."""
        passages = GenerationInput(question, turn.language, turn.passages, turn.index.bm25.idf)
        if turn.wider:
            # A named policy or procedure is answered from its own documents first; when
            # they are silent (开户 was said in passing), from everything retrieved.
            whole = self.generator.generate(passages)
            if not self._answers(turn, whole):
                turn.passages, turn.subject = turn.wider, Subject()
                passages = replace(passages, passages=turn.passages)
            elif turn.advice is None:
                sources = source_documents(turn.index, whole.citations)
                return Reply(streamed(whole, segments), sources)
        if turn.advice is None:
            draft = self.generator.stream(passages)
            return Reply(draft, source_documents(turn.index, draft.citations))
        whole = self.generator.generate(passages)
        advice = turn.advice
        if self._answers(turn, whole) or not advice.suggestions:
            return Reply(streamed(whole, segments), source_documents(turn.index, whole.citations))
        text = self.advisor.reply(advice, turn.language)
        citations = [s.citation for s in advice.suggestions]
        return Reply(
            DraftStream(citations, True, iter(segments(text)), quoted=True),
            [s.source for s in advice.suggestions],
        )

    def _answers(self, turn: Turn, whole: Draft) -> bool:
        """Whether a whole draft answers the question: grounded, and for one in a writer's
        own words, with something left once its sentences are traced to their passages."""
        if not whole.grounded or whole.quoted:
            return whole.grounded
        checked = self._grounded(turn, streamed(whole, segments), [])
        return not says_nothing("".join(checked))

    def _refusal(self, turn: Turn) -> Reply:
        """The input guard's own reply; a hand-off adds its reference and next steps. The
        bank's approved wording is the source its figures are checked against."""
        text = turn.screened.decided_by.reason
        wording = [text]
        if turn.screened.action == "handoff":
            turn.handoff = self._handoff(turn)
            text = f"{text}\n{turn.handoff.next_steps}"
            wording.append(turn.handoff.next_steps)
        source = SourceDocument("bank-wording", "\n".join(wording), "public")
        return Reply(DraftStream([], False, iter(segments(text)), quoted=True), [source])

    def _handoff(self, turn: Turn) -> Handoff:
        reference = new_handoff_reference()
        template = self.wording.handoff_reference[turn.language]
        kind = turn.screened.handoff_kind or ""
        return Handoff(reference, kind, template.format(reference=reference))

    def _record(
        self, turn: Turn, reply: Reply, text: str, verdicts: list[Verdict], action: Action
    ) -> TurnResult:
        """The turn as released, remembered, and logged."""
        cited = cited_numbers(text)
        citations = [c for c in reply.draft.citations if c.n in cited]
        result = TurnResult(
            session_id=turn.session_id,
            turn_id=turn.turn_id,
            answer=text,
            citations=self._released(turn, citations),
            language=turn.language,
            grounded=reply.draft.grounded and action != "block",
            passages=turn.passages,
            action=most_severe([turn.screened.action, action]),
            verdicts=turn.screened.verdicts
            + self._excerpted(turn, verdicts)
            + writer_notes(reply.draft),
            elapsed_ms=(time.perf_counter() - turn.started) * 1000,
            question=turn.screened.text,
            generation=turn.snapshot.generation if turn.snapshot else None,
            advice=turn.advice,
            handoff=turn.handoff,
            generator=reply.draft.author or self.generator.name,
            standalone=turn.standalone,
            decline_reason=reply.draft.decline_reason
            or ("policy" if "block" in (turn.screened.action, action) else None),
        )
        self.memory.record(result, turn.request)
        # The last gate: a turn is released once the audit trail holds it as released.
        self._audit("turn.released", audit.released(result, turn.request, turn.snapshot))
        self._log(result, turn.request)
        return result

    def _released(self, turn: Turn, citations: list[Citation]) -> list[Citation]:
        """Every field a user receives passes the audience check, not only the answer: a
        customer gets no citation of a document that is not public, and no sentence of a
        cited passage that repeats staff-only text."""
        if turn.request.role is not Role.customer:
            return citations
        if turn.snapshot is None:
            return []
        documents = turn.snapshot.documents
        view = self._view_of(turn.snapshot)
        return [
            replace(c, passage=self.output_guard.redacted(c.passage, "customer", view))
            for c in citations
            if c.doc_id in documents and documents[c.doc_id].meta.get("audience") == "public"
        ]

    def _excerpted(self, turn: Turn, verdicts: list[Verdict]) -> list[Verdict]:
        """The output rails' verdicts; for a customer without the words they removed, which
        may be exactly what a customer must not read. A grounding verdict's reason quotes
        the writer's words (a figure, a name), so a customer reads only that one was removed."""
        if turn.request.role is not Role.customer:
            return verdicts
        return [
            replace(v, excerpt="", reason="sentence removed" if v.rule == "grounding" else v.reason)
            for v in verdicts
        ]

    def _log(self, result: TurnResult, request: TurnRequest) -> None:
        log.info(
            "turn %s session=%s role=%s lang=%s action=%s rules=%s citations=%s gen=%s "
            "generator=%s %.0fms",
            result.turn_id,
            result.session_id,
            request.role,
            result.language,
            result.action,
            [f.rule for f in result.verdicts],
            [c.doc_id for c in result.citations],
            result.generation,
            result.generator,
            result.elapsed_ms,
        )
        if result.handoff is not None:
            log.info("hand-off %s for turn %s", result.handoff.reference, result.turn_id)

    # ------------------------------------------------------------------ reading the index

    def search(self, query: str, role: Role, k: int | None = None) -> list[Passage]:
        """The passages the role may read that best answer the query, typing slips corrected."""
        snapshot = self.index.snapshot()
        return self._retrieve(snapshot, snapshot.speller.correct(query), role, k)

    def recommend(
        self, profile: Profile, goal: str | None = None, language: Language = "zh-CN"
    ) -> Advice:
        """Suggestions for a profile, outside a conversation (the `recommend` command)."""
        return self._advise(self.index.snapshot(), profile, goal or profile.goal, language)

    def view(self, snapshot: Snapshot | None = None) -> KnowledgeView:
        """The staff/public split of a generation (by default the one being served), built
        once per generation."""
        snapshot = snapshot or self.index.snapshot()
        if snapshot not in self._views:
            rule = self.output_guard.policy.rule("staff_content")
            self._views[snapshot] = knowledge_view(snapshot, rule)
        return self._views[snapshot]

    def _view_of(self, snapshot: Snapshot | None) -> KnowledgeView | None:
        return self.view(snapshot) if snapshot is not None else None
