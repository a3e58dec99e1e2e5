"""Every error the API returns has one shape, `{"error": {"code", "message"}}`, and every
error the assistant raises on purpose is mapped here, in one handler."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.errors import AssistantError


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


async def _assistant_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AssistantError)
    return error_response(error.status, error.code, str(error), error.headers)


async def _malformed(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(map(str, e['loc'][1:])) or 'body'}: {e['msg']}" for e in error.errors()
    )
    return error_response(422, "invalid_request", f"the request does not fit the API: {problems}")


async def _http(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return error_response(error.status_code, "http_error", str(error.detail))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AssistantError, _assistant_error)
    app.add_exception_handler(RequestValidationError, _malformed)
    app.add_exception_handler(StarletteHTTPException, _http)


class BodySizeLimit:
    """Refuses a request whose declared body is larger than the limit, before anything
    reads it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._fits(scope):
            response = error_response(
                413,
                "request_too_large",
                f"request bodies are limited to {self.max_bytes // 1024} KiB; "
                "shorten the message or split it",
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _fits(self, scope: Scope) -> bool:
        headers: dict[bytes, Any] = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is None:
            return True
        return bool(length.isdigit()) and int(length) <= self.max_bytes
