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


class Channel(StrEnum):
    """Who holds an API key: each channel reaches the pipeline in its own lane."""

    teller = "teller"
    customer_app = "customer_app"
    intranet = "intranet"
    admin = "admin"
    # The content and compliance team: reads the analytics page, asks as an employee.
    content = "content"


# The most a channel's key may see; a request may ask for less, never for more.
CHANNEL_ROLES: dict[Channel, tuple[Role, ...]] = {
    Channel.teller: (Role.teller, Role.customer),
    Channel.customer_app: (Role.customer,),
    Channel.intranet: (Role.employee, Role.customer),
    Channel.admin: (Role.teller, Role.employee, Role.customer),
    Channel.content: (Role.employee,),
}
