"""Who is calling: an API key names a channel (teller console, customer-app backend,
intranet, admin); an intranet page's user arrives as a token the intranet signed. The
channel bounds which roles, and so which documents, a request may use."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from assistant.errors import Forbidden, Unauthenticated
from assistant.roles import CHANNEL_ROLES, Channel, Role

INTRANET_AUDIENCE = "bank-assistant-intranet"
# What an intranet token's `role` claim may say, and the role it reads as.
INTRANET_ROLES = {"employee": Role.employee, "customer": Role.customer}


@dataclass(frozen=True)
class Principal:
    channel: Channel | None  # None: open local mode, no keys configured
    roles: tuple[Role, ...]
    subject: str

    @property
    def owner(self) -> str:
        """Who is calling: a key's channel, or an intranet user (rate limits count per owner)."""
        return f"{self.channel or 'local'}:{self.subject}"

    def owner_as(self, role: Role) -> str:
        """Whose a session asked in `role` is: this caller in that role. The same person
        signed in as a customer does not read back what they asked as an employee."""
        return f"{self.owner}:{role}"

    @property
    def session_owners(self) -> frozenset[str]:
        """The sessions this caller may read back: its own, in each role it may use."""
        return frozenset(self.owner_as(role) for role in self.roles)

    @property
    def is_admin(self) -> bool:
        """Reads any session and rates any turn."""
        return self.channel is Channel.admin

    @property
    def may_reindex(self) -> bool:
        """An admin key, or the developer's own machine in open local mode."""
        return self.channel in (Channel.admin, None)

    def role_for(self, asked: Role | None) -> Role:
        """The role a request runs as: the one asked for if this caller may use it, else the
        caller's own."""
        if asked is None:
            return self.roles[0]
        if asked not in self.roles:
            allowed = ", ".join(self.roles)
            raise Forbidden(f"this credential may ask as {allowed}, not as {asked}")
        return asked


def _fingerprint(key: str) -> str:
    """Keys are never logged or stored; a short digest stands for them."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


# A key or a token longer than this is not one the bank issued.
MAX_CREDENTIAL_CHARS = 8192
# How far a token's issue time may lie ahead of this machine's clock.
CLOCK_SKEW_S = 60


class Authenticator:
    def __init__(
        self,
        api_keys: dict[str, Channel],
        intranet_secret: str | None,
        max_token_lifetime_s: int = 12 * 3600,
    ) -> None:
        self._keys = api_keys
        # No configured secret: one made now serves the demo page of this process only.
        self.intranet_secret = intranet_secret or secrets.token_urlsafe(32)
        self.max_token_lifetime_s = max_token_lifetime_s

    @property
    def open_mode(self) -> bool:
        return not self._keys

    def principal(self, credential: str | None) -> Principal:
        if credential and len(credential) > MAX_CREDENTIAL_CHARS:
            raise Unauthenticated(
                f"the credential is too long ({len(credential)} characters; a key or sign-in "
                f"token has at most {MAX_CREDENTIAL_CHARS}); send the one the bank issued"
            )
        if credential and credential.count(".") == 2:
            return self._intranet_user(credential)
        if self.open_mode:
            return Principal(None, (Role.customer, Role.teller, Role.employee), "local")
        if not credential:
            raise Unauthenticated(
                "send your API key as `Authorization: Bearer KEY` (or `X-API-Key: KEY`)"
            )
        for key, channel in self._keys.items():
            if hmac.compare_digest(key.encode(), credential.encode()):
                return Principal(channel, CHANNEL_ROLES[channel], _fingerprint(key))
        raise Unauthenticated("this API key is not recognised; ask the administrator for one")

    def intranet_claims(self, token: str) -> dict[str, Any]:
        """The claims of a token the intranet signed, within the longest lifetime allowed."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.intranet_secret,
                algorithms=["HS256"],
                audience=INTRANET_AUDIENCE,
                options={"require": ["exp", "iat", "sub", "role"]},
                leeway=CLOCK_SKEW_S,
            )
        except jwt.PyJWTError as error:
            raise Unauthenticated(
                f"the page's sign-in token was refused ({error}); reload the page to sign in again"
            ) from None
        lifetime = int(claims["exp"]) - int(claims["iat"])
        if lifetime > self.max_token_lifetime_s:
            raise Unauthenticated(
                f"the sign-in token's lifetime is {lifetime // 3600} h; the most accepted is "
                f"{self.max_token_lifetime_s // 3600} h: sign in again for a shorter-lived one"
            )
        return claims

    def _intranet_user(self, token: str) -> Principal:
        claims = self.intranet_claims(token)
        role = INTRANET_ROLES.get(str(claims["role"]))
        if role is None:
            raise Unauthenticated(f"the sign-in token names an unknown role {claims['role']!r}")
        return Principal(Channel.intranet, (role,), str(claims["sub"]))

    def sign_intranet_user(self, subject: str, role: str, name: str, ttl_s: int = 3600) -> str:
        """What the intranet does for its pages; used by the widget's demo host page."""
        payload = {
            "sub": subject,
            "role": role,
            "name": name,
            "aud": INTRANET_AUDIENCE,
            "iat": int(time.time()),
            "exp": int(time.time()) + ttl_s,
        }
        return jwt.encode(payload, self.intranet_secret, algorithm="HS256")


class Limiter(Protocol):
    def retry_after(self, caller: str) -> float:
        """0 when the request may go ahead (and is counted), else seconds to wait."""


class RateLimiter:
    """A token bucket per caller: `per_minute` requests, refilled continuously, in this
    process (one worker; several share `memory.limits.SharedRateLimiter`)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, caller: str, now: float | None = None) -> float:
        """0 when the request may go ahead (and is counted), else seconds to wait."""
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60
        with self._lock:
            tokens, since = self._buckets.get(caller, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - since) * rate)
            if tokens < 1:
                self._buckets[caller] = (tokens, now)
                return (1 - tokens) / rate
            self._buckets[caller] = (tokens - 1, now)
            return 0.0
