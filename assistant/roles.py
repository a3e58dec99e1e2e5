"""Who is asking decides what may be retrieved."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    customer = "customer"
    teller = "teller"
    employee = "employee"


class Audience(StrEnum):
    public = "public"
    staff = "staff"


def audiences_for(role: Role) -> tuple[Audience, ...]:
    """The document audiences a role may read. Customers never see staff documents."""
    if role is Role.customer:
        return (Audience.public,)
    return (Audience.public, Audience.staff)
