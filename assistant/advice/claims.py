"""Who the customer is, as the app backend vouches for it: a signed token (JWT, HS256) whose
claims carry the customer's profile. Nothing the customer types can change these claims."""

from __future__ import annotations

from typing import Any

import jwt
from pydantic import ValidationError

from assistant.advice.rules import Profile
from assistant.errors import InvalidRequest, Unauthenticated
from assistant.roles import Role

ALGORITHMS = ["HS256"]


class ClaimsRejected(Unauthenticated):
    """The token is missing, forged, expired or carries no usable profile."""

    code = "claims_rejected"

    @property
    def headers(self) -> dict[str, str]:
        # The caller's key was good; only the customer token it carried was not.
        return {}


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


def profile_for(
    role: Role, stated: Profile | None, claims: str | None, secret: str | None
) -> Profile | None:
    """The profile a turn may use: a teller states it; a customer's comes only from the app
    backend's signed claims, never from what the request itself says."""
    if role is Role.customer and stated is not None:
        raise InvalidRequest(
            "a customer's profile comes only from the app backend's signed claims; "
            "send it as `claims` (--claims), not as a stated profile"
        )
    if role is not Role.customer and claims is not None:
        raise InvalidRequest(
            "signed `claims` are for the customer channel; tellers state a profile"
        )
    if claims is not None:
        return profile_from_token(claims, secret)
    return stated
