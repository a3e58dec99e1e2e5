"""Who the customer is, as the app backend vouches for it: a signed token (JWT, HS256) whose
claims carry the customer's profile. Nothing the customer types can change these claims."""

from __future__ import annotations

from typing import Any

import jwt
from pydantic import ValidationError

from assistant.advice.rules import Profile
from assistant.errors import Unauthenticated

ALGORITHMS = ["HS256"]


class ClaimsRejected(Unauthenticated):
    """The token is missing, forged, expired or carries no usable profile."""

    code = "claims_rejected"


def profile_from_token(token: str, secret: str | None, audience: str = "bank-assistant") -> Profile:
    if not secret:
        raise ClaimsRejected(
            "signed customer claims are not accepted: set ASSISTANT_CLAIMS_SECRET to the key "
            "the app backend signs with"
        )
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=ALGORITHMS,
            audience=audience,
            options={"require": ["exp", "sub", "profile"]},
        )
    except jwt.PyJWTError as error:
        raise ClaimsRejected(f"the customer token was refused: {error}") from None
    try:
        return Profile.model_validate(claims["profile"])
    except ValidationError as error:
        raise ClaimsRejected(f"the customer token's profile is invalid: {error}") from None


def sign_profile(
    profile: dict[str, Any],
    subject: str,
    secret: str,
    expires_at: int,
    audience: str = "bank-assistant",
) -> str:
    """What the app backend does; used by tests and by the demo pages."""
    payload = {"sub": subject, "aud": audience, "exp": expires_at, "profile": profile}
    return jwt.encode(payload, secret, algorithm=ALGORITHMS[0])
