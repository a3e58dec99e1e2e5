"""Liveness and readiness, for the load balancer in front of the workers."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from assistant import __version__
from assistant.answer.generator import Checked
from assistant.channels.api.dependencies import Deps

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(deps: Deps) -> dict[str, Any]:
    # On the event loop, not in the worker threads every turn holds: liveness is answered
    # in milliseconds however busy the workers are.
    # The generation this worker has open: no database or server is asked, so liveness
    # does not depend on them.
    generation = deps.assistant.index.serving_generation()
    # Which worker answered: behind one port, a load balancer's checks can tell them apart.
    return {
        "status": "ok",
        "version": __version__,
        "index_generation": generation,
        "worker": os.getpid(),
    }


@router.get("/readyz")
def readyz(deps: Deps) -> JSONResponse:
    problems = []
    for name, store in (
        ("index", deps.assistant.index),
        ("conversation store", deps.store),
        ("audit trail", deps.audit),
    ):
        try:
            store.ping()
        except Exception as error:  # any driver error means "not ready", said plainly
            problems.append(f"{name} unreachable: {error}")
    # A model server that is down degrades answers (the extractive composer stands in) but
    # does not stop them: it is reported, and readiness stays with the stores and the index.
    generator = deps.assistant.generator
    degraded = (
        [problem] if isinstance(generator, Checked) and (problem := generator.problem()) else []
    )
    status = 503 if problems else 200
    return JSONResponse(
        {
            "ready": not problems,
            "problems": problems,
            "degraded": degraded,
            "generator": generator.name,
        },
        status_code=status,
    )
