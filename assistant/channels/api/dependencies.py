"""What every route may depend on: the app's services, and the caller, authenticated and
within its rate limit. Authentication is a `Security` dependency of the one /v1 router that
every /v1 operation is included in (`app.v1_router`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from assistant.channels.auth import Authenticator, Limiter, Principal
from assistant.channels.console_access import ConsoleAccess
from assistant.errors import RateLimited
from assistant.memory.audit import AuditTrail
from assistant.memory.store import ConversationStore
from assistant.pipeline import Assistant
from assistant.settings import Settings


@dataclass
class Services:
    settings: Settings
    assistant: Assistant
    store: ConversationStore
    authenticator: Authenticator
    limiter: Limiter
    console_access: ConsoleAccess
    audit: AuditTrail
    # One re-index at a time: each builds the next index generation from the current one.
    ingest_lock: threading.Lock = field(default_factory=threading.Lock)


def services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# The services a route uses, as a FastAPI dependency.
Deps = Annotated[Services, Depends(services)]

_bearer = HTTPBearer(auto_error=False, description="An API key, or the intranet's signed token.")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")


def authenticated(
    deps: Deps,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> Principal:
    """The caller, from `Authorization: Bearer …` or `X-API-Key`, counted against its rate
    limit."""
    credential = (bearer.credentials.strip() or None) if bearer else api_key
    principal = deps.authenticator.principal(credential)
    wait = deps.limiter.retry_after(principal.owner)
    if wait > 0:
        raise RateLimited(wait)
    return principal


Caller = Annotated[Principal, Security(authenticated)]
