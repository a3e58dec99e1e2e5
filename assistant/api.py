"""HTTP face: the JSON API (its own and an OpenAI-compatible one), the teller console and
the intranet widget, served by one FastAPI app.

Every request is authenticated first (API key per channel, or the intranet's signed token
for the widget), rate-limited per caller, and size-limited before anything parses it. The
caller's channel bounds the role it may ask as, and the role bounds what can be retrieved.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import FileResponse, Response

from assistant import __version__
from assistant.auth import Authenticator, Forbidden, Principal, RateLimiter, Unauthenticated
from assistant.claims import ClaimsRejected, profile_from_token
from assistant.documents import PlainFileDefaults
from assistant.generation import Citation
from assistant.index import IndexNotBuilt
from assistant.pipeline import Assistant, InvalidRequest, TurnRequest
from assistant.recommend import Profile
from assistant.roles import Audience, Role
from assistant.service import build_assistant, ingest_paths
from assistant.sessions import ChatService
from assistant.settings import Settings
from assistant.store import HISTORY_TURNS, ConversationStore, NotFound

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent / "web"
SESSION_ID = r"^[A-Za-z0-9_-]{1,64}$"
MODEL_NAME = "jianglan-assistant"


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(description="The user's question, in Chinese or English.")
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
    comment: str = Field("", max_length=2000)


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(
        default_factory=list,
        description="Files or folders inside the knowledge folder; empty: all of it.",
    )
    prune: bool = Field(False, description="Remove indexed documents not among the paths.")
    audience: Audience = Field(Audience.public, description="For files without front matter.")


class OpenAIMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(part.get("text", "")) for part in self.content)
        return self.content or ""


class CompletionRequest(BaseModel):
    # OpenAI clients send many optional fields (temperature, top_p, ...): accepted, ignored.
    model_config = ConfigDict(extra="ignore")

    model: str = MODEL_NAME
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    user: str | None = Field(None, max_length=200)
    session_id: str | None = Field(None, pattern=SESSION_ID)


def _error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def _credential(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key")


class Gate(BaseHTTPMiddleware):
    """Size limit, then authentication and the rate limit, for every /v1 request."""

    def __init__(
        self, app: Any, authenticator: Authenticator, limiter: RateLimiter, max_bytes: int
    ) -> None:
        super().__init__(app)
        self.authenticator = authenticator
        self.limiter = limiter
        self.max_bytes = max_bytes

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return _error(
                413,
                "request_too_large",
                f"request bodies are limited to {self.max_bytes // 1024} KiB; "
                "shorten the message or split it",
            )
        if not request.url.path.startswith("/v1/") or request.method == "OPTIONS":
            return await call_next(request)
        try:
            principal = self.authenticator.principal(_credential(request))
        except Unauthenticated as error:
            return _error(401, "unauthenticated", str(error), **{"WWW-Authenticate": "Bearer"})
        wait = self.limiter.retry_after(principal.owner)
        if wait > 0:
            return _error(
                429,
                "rate_limited",
                f"too many requests; try again in {wait:.0f} s",
                **{"Retry-After": str(max(1, round(wait)))},
            )
        request.state.principal = principal
        return await call_next(request)


class IngestRunning(RuntimeError):
    """Another re-index holds the index; the caller should retry when it has finished."""


# The project's own errors, as HTTP answers; each message already says what to do next.
ERRORS: dict[type[Exception], tuple[int, str]] = {
    IngestRunning: (409, "ingest_running"),
    InvalidRequest: (422, "invalid_request"),
    ClaimsRejected: (401, "claims_rejected"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not_found"),
    IndexNotBuilt: (503, "index_not_built"),
}


def _error_handler(status: int, code: str) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(_: Request, error: Exception) -> Response:
        return _error(status, code, str(error))

    return handle


def principal(request: Request) -> Principal:
    return request.state.principal  # type: ignore[no-any-return]


Caller = Annotated[Principal, Depends(principal)]


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    assistant = assistant or build_assistant(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = ConversationStore(settings.database())
    chats = ChatService(assistant, store)
    authenticator = Authenticator(settings.api_keys, settings.intranet_secret)
    if authenticator.open_mode:
        log.warning(
            "no API keys configured (ASSISTANT_API_KEYS): open local mode, requests name "
            "their own role; never expose this server beyond loopback"
        )

    app = FastAPI(title="Jianglan Bank assistant", version=__version__)
    # One re-index at a time: each builds the next index generation from the current one.
    app.state.ingest_lock = ingest_lock = threading.Lock()
    app.add_middleware(
        Gate,
        authenticator=authenticator,
        limiter=RateLimiter(settings.rate_limit_per_minute),
        max_bytes=settings.max_body_bytes,
    )
    if settings.widget_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.widget_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    @app.exception_handler(RequestValidationError)
    async def _malformed(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'][1:])) or 'body'}: {e['msg']}" for e in error.errors()
        )
        return _error(422, "invalid_request", f"the request does not fit the API: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return _error(error.status_code, "http_error", str(error.detail))

    for kind, (status, code) in ERRORS.items():
        app.add_exception_handler(kind, _error_handler(status, code))

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        generation = assistant.index.current_generation()
        return {"status": "ok", "version": __version__, "index_generation": generation}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        problems = []
        if assistant.index.current_generation() is None:
            problems.append("no index built: run `assistant ingest`")
        try:
            store.ping()
        except Exception as error:  # any driver error means "not ready", said plainly
            problems.append(f"conversation store unreachable: {type(error).__name__}")
        status = 503 if problems else 200
        return JSONResponse({"ready": not problems, "problems": problems}, status_code=status)

    def turn_request(
        caller: Principal,
        message: str,
        role: Role | None,
        session_id: str | None,
        history: tuple[str, ...] = (),
    ) -> TurnRequest:
        if session_id and store.owner_of(session_id) not in (None, caller.owner):
            raise NotFound(f"no session {session_id} for this caller")
        return TurnRequest(message, caller.role_for(role), session_id, history)

    def profile_of(body: ChatRequest, request: TurnRequest) -> Profile | None:
        if request.role is Role.customer and body.profile is not None:
            raise InvalidRequest(
                "a customer's profile comes only from the app backend's signed claims; "
                "send it as `claims`, not `profile`"
            )
        if request.role is not Role.customer and body.claims is not None:
            raise InvalidRequest("`claims` are for the customer channel; tellers send `profile`")
        if body.claims is not None:
            return profile_from_token(body.claims, settings.claims_secret)
        return body.profile

    @app.post("/v1/chat", response_model=ChatResponse, response_model_exclude_none=True)
    def chat(body: ChatRequest, caller: Caller) -> Any:
        request = turn_request(caller, body.message, body.role, body.session_id)
        profile = profile_of(body, request)
        if not body.stream:
            return chats.turn(request, caller.owner, profile)
        assistant.validate(request)  # a bad message is a 422, not a broken stream

        def events() -> Iterator[str]:
            for item in chats.stream(request, caller.owner, profile):
                if isinstance(item, str):
                    yield _sse("delta", {"text": item})
                else:
                    payload = ChatResponse.model_validate(item).model_dump(exclude_none=True)
                    yield _sse("done", payload)

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/v1/chat/completions")
    def completions(body: CompletionRequest, caller: Caller) -> Any:
        questions = [m.text() for m in body.messages if m.role == "user"]
        if not questions:
            raise InvalidRequest("`messages` needs at least one message with role `user`")
        # The client holds the conversation: its earlier questions are the history.
        history = tuple(questions[-1 - HISTORY_TURNS : -1])
        request = turn_request(caller, questions[-1], None, body.session_id, history)
        envelope = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "created": int(time.time()),
            "model": MODEL_NAME,
        }

        def extras(turn: dict[str, Any]) -> dict[str, Any]:
            return {
                "citations": turn["citations"],
                "session_id": turn["session_id"],
                "turn_id": turn["turn_id"],
                "guardrail": {"action": turn["action"], "verdicts": turn["verdicts"]},
            }

        if not body.stream:
            turn = chats.turn(request, caller.owner, None)
            return {
                **envelope,
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": turn["answer"]},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                **extras(turn),
            }

        def chunk(delta: dict[str, Any], finish: str | None, **more: Any) -> str:
            payload = {
                **envelope,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **more,
            }
            return f"data: {json.dumps(payload, ensure_ascii=False, default=str)}\n\n"

        assistant.validate(request)  # a bad message is a 422, not a broken stream

        def events() -> Iterator[str]:
            yield chunk({"role": "assistant", "content": ""}, None)
            for item in chats.stream(request, caller.owner, None):
                if isinstance(item, str):
                    yield chunk({"content": item}, None)
                else:
                    yield chunk({}, "stop", **extras(item))
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/v1/feedback", status_code=201)
    def feedback(body: FeedbackRequest, caller: Caller) -> dict[str, str]:
        owner = None if caller.is_admin else caller.owner
        feedback_id = store.add_feedback(body.turn_id, owner, body.rating, body.comment)
        log.info("feedback %s on turn %s: %s", feedback_id, body.turn_id, body.rating)
        return {"feedback_id": feedback_id, "turn_id": body.turn_id}

    @app.get("/v1/sessions/{session_id}")
    def session(session_id: str, caller: Caller) -> dict[str, Any]:
        owner = None if caller.is_admin else caller.owner
        turns = store.turns(session_id, owner)
        return {
            "session_id": session_id,
            "turns": [t.as_dict() for t in turns],
            "handoffs": store.handoffs(session_id),
        }

    @app.post("/v1/admin/ingest")
    def admin_ingest(body: IngestRequest, caller: Caller) -> dict[str, Any]:
        if not caller.may_reindex:
            raise Forbidden("re-indexing needs an admin key")
        root = settings.knowledge_dir.resolve()
        targets = [(root / p).resolve() for p in body.paths] or [root]
        outside = [str(t) for t in targets if not t.is_relative_to(root) or not t.exists()]
        if outside:
            raise InvalidRequest(
                f"paths must exist inside the knowledge folder {root}: {', '.join(outside)}"
            )
        if not ingest_lock.acquire(blocking=False):
            raise IngestRunning("another ingest is running; try again when it has finished")
        try:
            loaded, report = ingest_paths(
                assistant.index, targets, PlainFileDefaults(audience=body.audience), body.prune
            )
        finally:
            ingest_lock.release()
        return {
            "added": report.added,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "removed": report.removed,
            "skipped": [{"source": e.source, "reason": e.reason} for e in loaded.errors],
            "generation": report.generation,
        }

    @app.get("/widget.js", include_in_schema=False)
    def widget_script() -> FileResponse:
        return FileResponse(WEB_DIR / "widget.js", media_type="text/javascript")

    @app.get("/widget/demo/{persona}", include_in_schema=False)
    def widget_demo(persona: Literal["employee", "customer"]) -> HTMLResponse:
        """A stand-in for an intranet page: the host signs its user in and hands the widget
        the token, as the real intranet's server would."""
        names = {"employee": "王敏（零售业务部）", "customer": "访客"}
        token = authenticator.sign_intranet_user(f"demo-{persona}", persona, names[persona])
        page = (WEB_DIR / "demo.html").read_text(encoding="utf-8")
        return HTMLResponse(page.replace("{{token}}", token).replace("{{name}}", names[persona]))

    from assistant.console import mount_console

    mount_console(app, chats)
    return app
