"""Every error the API returns has one shape, `{"error": {"code", "message"}}`, and every
error the assistant raises on purpose is mapped here, in one handler."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    code = getattr(error, "code", "http_error")
    return error_response(error.status_code, code, str(error.detail))


def _too_large(max_bytes: int) -> str:
    return f"request bodies are limited to {max_bytes // 1024} KiB; shorten the message or split it"


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AssistantError, _assistant_error)
    app.add_exception_handler(RequestValidationError, _malformed)
    app.add_exception_handler(StarletteHTTPException, _http)


# Headers larger than this are not a client of ours (a browser sends a few KiB).
MAX_HEADER_BYTES = 16 * 1024


class BodyTooLarge(StarletteHTTPException):
    """The body grew past the limit while it was being read. An HTTPException, so that
    FastAPI's body parsing passes it on as it is rather than as a 400."""

    code = "request_too_large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _too_large(max_bytes))


class SizeLimits:
    """Refuses headers over MAX_HEADER_BYTES, and a body over the limit: at once when its
    declared length says so, and as soon as a chunked body grows past it while it is read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        if sum(len(name) + len(value) for name, value in headers) > MAX_HEADER_BYTES:
            message = f"request headers are limited to {MAX_HEADER_BYTES // 1024} KiB"
            await error_response(431, "headers_too_large", message)(scope, receive, send)
            return
        declared = dict(headers).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, self._counted(receive), sending)
        except BodyTooLarge:  # a reader that does not turn it into a response itself
            if not started:
                await self._refuse(scope, receive, send)

    def _counted(self, receive: Receive) -> Receive:
        read = 0

        async def receiving() -> Message:
            nonlocal read
            message = await receive()
            read += len(message.get("body", b""))
            if read > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            return message

        return receiving

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, BodyTooLarge.code, _too_large(self.max_bytes))
        await response(scope, receive, send)
