"""The HTTP face: the JSON API (its own and an OpenAI-compatible one), the teller console
and the intranet widget, served by one FastAPI app.

Every /v1 request is authenticated first (API key per channel, or the intranet's signed
token for the widget) and rate-limited per caller; every request is size-limited before
anything parses it. The caller's channel bounds the role it may ask as, and the role bounds
what can be retrieved.
"""

from assistant.channels.api.app import create_app

__all__ = ["create_app"]
