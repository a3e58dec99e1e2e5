"""The shapes of the HTTP API's requests and answers."""

from __future__ import annotations

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
