"""HTTP face: the JSON API and the teller console, served by one FastAPI app."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from assistant import __version__
from assistant.advisor import advise
from assistant.claims import ClaimsRejected, profile_from_token
from assistant.generation import Citation
from assistant.index import IndexNotBuilt
from assistant.pipeline import Assistant, InvalidRequest, TurnRequest
from assistant.recommend import Profile
from assistant.roles import Role
from assistant.service import build_assistant
from assistant.settings import Settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(description="The user's question, in Chinese or English.")
    role: Role = Field(Role.customer, description="Whose documents may be used to answer.")
    session_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    profile: Profile | None = Field(None, description="Teller channel: the customer's profile.")
    claims: str | None = Field(
        None,
        max_length=8192,
        description="Customer channel: the app backend's signed token carrying the profile.",
    )


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


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class BodySizeLimit(BaseHTTPMiddleware):
    """Refuse oversized bodies before anything parses them."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return _error(
                413,
                "request_too_large",
                f"request bodies are limited to {MAX_BODY_BYTES // 1024} KiB",
            )
        return await call_next(request)


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    assistant = assistant or build_assistant(settings)
    app = FastAPI(title="Jianglan Bank assistant", version=__version__)
    app.add_middleware(BodySizeLimit)

    @app.exception_handler(InvalidRequest)
    async def _invalid(_: Request, error: InvalidRequest) -> JSONResponse:
        return _error(422, "invalid_request", str(error))

    @app.exception_handler(IndexNotBuilt)
    async def _not_built(_: Request, error: IndexNotBuilt) -> JSONResponse:
        return _error(503, "index_not_built", str(error))

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        generation = assistant.index.current_generation()
        return {"status": "ok", "version": __version__, "index_generation": generation}

    @app.exception_handler(ClaimsRejected)
    async def _claims(_: Request, error: ClaimsRejected) -> JSONResponse:
        return _error(401, "claims_rejected", str(error))

    @app.post("/v1/chat", response_model=ChatResponse)
    def chat(body: ChatRequest) -> dict[str, Any]:
        if body.role is Role.customer and body.profile is not None:
            raise InvalidRequest(
                "a customer's profile comes only from the app backend's signed claims; "
                "send it as `claims`, not `profile`"
            )
        if body.role is not Role.customer and body.claims is not None:
            raise InvalidRequest("`claims` are for the customer channel; tellers send `profile`")
        profile = body.profile
        if body.claims is not None:
            profile = profile_from_token(body.claims, settings.claims_secret)
        request = TurnRequest(message=body.message, role=body.role, session_id=body.session_id)
        return advise(assistant, request, profile)

    from assistant.console import mount_console

    mount_console(app, assistant)
    return app
