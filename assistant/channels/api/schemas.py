"""The shapes of the HTTP API's requests and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.advice.rules import Profile
from assistant.answer.generator import Citation
from assistant.roles import Audience, Role
from assistant.text import Text

SESSION_ID = r"^[A-Za-z0-9_-]{1,64}$"
MODEL_NAME = "jianglan-assistant"


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Text = Field(description="The user's question, in Chinese or English.")
    role: Role | None = Field(
        None, description="Ask as this role; default and ceiling: the credential's own."
    )
    session_id: str | None = Field(None, pattern=SESSION_ID)
    stream: bool = Field(False, description="Server-sent events: segments, then the turn.")
    profile: Profile | None = Field(None, description="Teller channel: the customer's profile.")
    claims: str | None = Field(
        None,
        max_length=8192,
        description="Customer channel: the app backend's signed token carrying the profile.",
    )


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, for programs: invalid_request, unauthenticated, …")
    message: str = Field(description="For people: what went wrong and what to do next.")


class ErrorEnvelope(BaseModel):
    error: ErrorDetail


# Every error an authenticated /v1 operation may answer with, in the one shape they share.
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in {
        401: "No credential, or one that does not check out.",
        403: "Outside the credential's lane.",
        404: "No such session or turn for this caller.",
        409: "Another operation holds what this one needs.",
        413: "The body is larger than the limit.",
        422: "The request does not fit the API, or its text cannot be read.",
        429: "Too many requests; Retry-After says when to try again.",
        431: "The headers are larger than the limit.",
        503: "The index is not built, or a part the assistant needs is unavailable.",
    }.items()
}


def event_stream(events: list[str] | None, data: str) -> dict[str, Any]:
    """A streamed answer as OpenAPI describes server-sent events: the schema of one event."""
    event: dict[str, Any] = {"type": "string"}
    if events:
        event["enum"] = events
    return {
        "text/event-stream": {
            "schema": {
                "type": "object",
                "properties": {"event": event, "data": {"type": "string", "description": data}},
                "required": ["data"],
            }
        }
    }


# /v1/chat with `stream`: `delta` events with the next checked text, then `done` with the turn.
STREAMED_TURN = event_stream(["delta", "done"], "JSON: {text} for delta, the turn for done")
# /v1/chat/completions with `stream`: OpenAI's chunks, then `[DONE]`.
STREAMED_CHUNKS = event_stream(None, "JSON: a chat.completion.chunk, or [DONE]")


class HandoffInfo(BaseModel):
    reference: str
    next_steps: str


class ChatResponse(BaseModel):
    answer: str
    citations: list[Citation]
    session_id: str
    turn_id: str
    language: str
    grounded: bool
    action: str
    verdicts: list[dict[str, Any]]
    elapsed_ms: float
    generator: str = Field("", description="Who wrote the answer: extractive, llm, ...")
    decline_reason: str | None = Field(
        None,
        description="Why the question was declined: no_evidence, subject_absent, "
        "term_not_offered, other_side_of_boundary, subject_silent or policy; null if answered.",
    )
    suggestions: dict[str, Any] | None = None
    handoff: HandoffInfo | None = None


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    turn_id: str = Field(pattern=SESSION_ID)
    rating: Literal["up", "down"]
    comment: Text = Field("", max_length=2000)


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paths: list[Annotated[Text, Field(min_length=1, max_length=1024)]] = Field(
        default_factory=list,
        max_length=1000,
        description="Files or folders inside the knowledge folder; empty: all of it.",
    )
    prune: bool = Field(False, description="Remove indexed documents not among the paths.")
    audience: Audience | None = Field(
        None,
        description="The audience of files without front matter; without it such files are "
        "skipped, never published by default.",
    )


class ContentPart(BaseModel):
    # Image and audio parts are accepted and ignored: the assistant reads text only.
    model_config = ConfigDict(extra="allow")

    type: str = "text"
    text: Text = ""


class OpenAIMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Text | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class CompletionRequest(BaseModel):
    # OpenAI clients send many optional fields (temperature, top_p, ...): accepted, ignored.
    model_config = ConfigDict(extra="ignore")

    model: str = MODEL_NAME
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    user: str | None = Field(None, max_length=200)
    session_id: str | None = Field(None, pattern=SESSION_ID)


# A hand-off's reference, as the pipeline makes it ("H", the day, six characters).
HANDOFF_REFERENCE = r"^[A-Za-z0-9_-]{1,64}$"


class QueuedHandoffInfo(BaseModel):
    reference: str
    kind: str = Field(description="complaint, or agent (a plain request for a person).")
    state: Literal["open", "assigned", "closed"]
    created_at: datetime
    updated_at: datetime
    assignee: str | None = Field(description="Who works on it; null while it waits.")
    closed_at: datetime | None
    resolution: str | None = Field(description="How it was resolved, once closed.")
    session_id: str
    question: str = Field(description="What was handed over, personal data masked.")


class HandoffQueue(BaseModel):
    handoffs: list[QueuedHandoffInfo] = Field(description="Newest first.")


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: Text = Field(min_length=1, max_length=200, description="Who works on it from now on.")


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: Text = Field(
        min_length=1, max_length=2000, description="How it was resolved, for the record."
    )
