"""The FastAPI app: the routers, the error handler, the size limit and CORS, assembled."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Security
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from assistant import __version__
from assistant.channels.api import (
    admin,
    chat,
    console_sign_in,
    feedback,
    handoffs,
    health,
    openai,
    sessions,
    web,
)
from assistant.channels.api.dependencies import Services, authenticated
from assistant.channels.api.errors import SizeLimits, install_error_handlers
from assistant.channels.api.schemas import ERRORS
from assistant.channels.auth import Authenticator, Limiter, RateLimiter
from assistant.channels.console_access import ConsoleAccess, ConsoleGate
from assistant.errors import ConfigurationError
from assistant.memory.audit import AuditTrail
from assistant.memory.limits import SharedRateLimiter
from assistant.memory.store import ConversationStore
from assistant.pipeline import Assistant
from assistant.service import build_assistant
from assistant.settings import Settings, get_settings

log = logging.getLogger(__name__)


def create_services(settings: Settings, assistant: Assistant | None = None) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = ConversationStore(settings.database())
    authenticator = Authenticator(
        settings.api_keys, settings.intranet_secret, settings.max_token_lifetime_s
    )
    if authenticator.open_mode:
        log.warning(
            "no API keys configured (ASSISTANT_API_KEYS): open local mode, requests name "
            "their own role; never expose this server beyond loopback"
        )
    trail = AuditTrail(settings.audit_database(), settings.audit_key)
    assistant = assistant or build_assistant(settings)
    # The current generation is opened, what it keeps per generation built and the models
    # loaded as the worker starts: its first turns do not wait seconds for them, and
    # /healthz can name the generation. No index yet, or a server away: /readyz says which.
    try:
        assistant.prepare()
    except Exception as error:  # a worker starts regardless; /readyz reports what is wrong
        log.warning("not prepared before serving: %s", error)
    return Services(
        settings,
        assistant.with_memory(store, trail),
        store,
        authenticator,
        limiter(settings),
        ConsoleAccess(authenticator, settings.console_secret, settings.console_session_hours),
        trail,
    )


def limiter(settings: Settings) -> Limiter:
    if settings.shared_rate_limits:
        return SharedRateLimiter(settings.database(), settings.rate_limit_per_minute)
    return RateLimiter(settings.rate_limit_per_minute)


def app_from_environment() -> FastAPI:
    """The app as each worker of `assistant serve --workers N` builds it, from ASSISTANT_*."""
    return create_app(get_settings())


def v1_router() -> APIRouter:
    """Every /v1 operation, each behind authentication and the rate limit: a route added to
    any of these routers cannot be reached without a credential."""
    v1 = APIRouter(prefix="/v1", dependencies=[Security(authenticated)], responses=ERRORS)
    for module in (chat, openai, sessions, feedback, handoffs, admin):
        v1.include_router(module.router)
    return v1


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    services = create_services(settings, assistant)
    # /docs and /redoc from assets the package ships: an intranet reaches no CDN.
    app = FastAPIOffline(
        title="Jianglan Bank assistant", version=__version__, static_url="/docs-assets"
    )
    app.state.services = services
    app.include_router(v1_router())
    for module in (health, console_sign_in, web):
        app.include_router(module.router)
    if demo_pages(settings, services.authenticator):
        app.include_router(web.demo_router)
    install_error_handlers(app)
    app.add_middleware(ConsoleGate, access=services.console_access)
    app.add_middleware(SizeLimits, max_bytes=settings.max_body_bytes)
    if settings.widget_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.widget_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    from assistant.channels.analytics import mount_analytics
    from assistant.channels.console import mount_console
    from assistant.channels.handoff_queue import mount_handoff_queue

    # The staff pages under /console: the content team's analytics and the hand-off queue.
    mount_analytics(app, services)
    mount_handoff_queue(app, services)
    return mount_console(app, services)


def demo_pages(settings: Settings, authenticator: Authenticator) -> bool:
    """The demo pages sign any visitor in with this server's own intranet key, so they
    exist only where that key protects nothing: open local mode without an intranet secret."""
    production = not authenticator.open_mode or settings.intranet_secret is not None
    if settings.demo_pages and production:
        raise ConfigurationError(
            "ASSISTANT_DEMO_PAGES is on, but demo pages would sign any visitor in with this "
            "server's own key beside ASSISTANT_API_KEYS or ASSISTANT_INTRANET_SECRET; turn "
            "the demo pages off, or run them on a local server without keys"
        )
    return settings.demo_pages is not False and not production
