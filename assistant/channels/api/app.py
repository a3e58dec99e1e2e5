"""The FastAPI app: the routers, the error handler, the size limit and CORS, assembled."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from assistant import __version__
from assistant.channels.api import admin, chat, health, openai, sessions, web
from assistant.channels.api.dependencies import Services
from assistant.channels.api.errors import BodySizeLimit, install_error_handlers
from assistant.channels.auth import Authenticator, RateLimiter
from assistant.memory.store import ConversationStore
from assistant.pipeline import Assistant
from assistant.service import build_assistant
from assistant.settings import Settings

log = logging.getLogger(__name__)


def create_services(settings: Settings, assistant: Assistant | None = None) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = ConversationStore(settings.database())
    authenticator = Authenticator(settings.api_keys, settings.intranet_secret)
    if authenticator.open_mode:
        log.warning(
            "no API keys configured (ASSISTANT_API_KEYS): open local mode, requests name "
            "their own role; never expose this server beyond loopback"
        )
    return Services(
        settings,
        (assistant or build_assistant(settings)).with_memory(store),
        store,
        authenticator,
        RateLimiter(settings.rate_limit_per_minute),
    )


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    services = create_services(settings, assistant)
    app = FastAPI(title="Jianglan Bank assistant", version=__version__)
    app.state.services = services
    for module in (chat, openai, sessions, admin, health, web):
        app.include_router(module.router)
    app.include_router(sessions.feedback_router)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.widget_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.widget_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    from assistant.channels.console import mount_console

    return mount_console(app, services.assistant, services.store)
