"""One error hierarchy. Every error the assistant raises on purpose is an AssistantError whose
message is written for the person who must act on it: what went wrong and what to do next.

Each kind carries its HTTP status and a stable code, so the API maps all of them in one
handler and the CLI reports all of them in one place; no known error becomes a 500.
"""

from __future__ import annotations

from typing import ClassVar


class AssistantError(Exception):
    """Base of every error the assistant raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "error"

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the answer to this error carries (what to send, when to retry)."""
        return {}


class InvalidRequest(AssistantError, ValueError):
    """The request cannot be answered as sent; the message says what to change."""

    status = 422
    code = "invalid_request"


class Unauthenticated(AssistantError, PermissionError):
    """No credentials, or credentials that do not check out."""

    status = 401
    code = "unauthenticated"

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(AssistantError, PermissionError):
    """A known caller asking for something outside its lane."""

    status = 403
    code = "forbidden"


class NotFound(AssistantError, LookupError):
    """No such session, turn or document for this caller."""

    status = 404
    code = "not_found"


class Conflict(AssistantError):
    """Another operation holds what this one needs; retry when it has finished."""

    status = 409
    code = "conflict"


class RateLimited(AssistantError):
    """A caller sent more requests than its share; the message says when to try again."""

    status = 429
    code = "rate_limited"

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many requests; try again in {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, round(self.retry_after_s)))}


class Unavailable(AssistantError):
    """A part the assistant needs is not there yet (an index never built, a store down)."""

    status = 503
    code = "unavailable"


class ConfigurationError(AssistantError):
    """A settings value or a content file (policy, glossary, prompts, rules) is wrong. The
    message names the file or setting, and the rule or entry, to fix."""

    status = 503
    code = "configuration_error"


class DocumentError(AssistantError):
    """A file that cannot become a document. The message says which file and what to fix;
    ingestion reports it and goes on with the other files."""

    status = 422
    code = "invalid_document"

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
