"""Rate limits every worker shares: one token bucket per caller, kept in the database, so
that two workers (or two hosts) behind a load balancer give a caller one allowance, not one
each."""

from __future__ import annotations

import random
import time

from sqlalchemy import Float, String, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from assistant.database import connect
from assistant.errors import Unavailable
from assistant.migrations import upgrade

# Tries before a bucket two workers keep opening at once is reported busy.
_ATTEMPTS = 5


class _Base(DeclarativeBase):
    pass


class BucketRow(_Base):
    __tablename__ = "rate_buckets"
    caller: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    # Wall-clock seconds: every worker must read the same clock.
    updated: Mapped[float] = mapped_column(Float)


class SharedRateLimiter:
    """`per_minute` requests per caller, refilled continuously, counted in the database."""

    def __init__(self, url: str, per_minute: int) -> None:
        self.engine: Engine = connect(url)
        self.per_minute = per_minute
        upgrade(self.engine)

    def retry_after(self, caller: str, now: float | None = None) -> float:
        """0 when the request may go ahead (and is counted), else seconds to wait."""
        for attempt in range(_ATTEMPTS):
            try:
                return self._take(caller, time.time() if now is None else now)
            except (IntegrityError, OperationalError):
                # Two workers opened the same caller's bucket at once; the loser counts again.
                if attempt == _ATTEMPTS - 1:
                    raise Unavailable("the rate limits are busy; try again shortly") from None
                time.sleep(random.uniform(0.002, 0.02) * (attempt + 1))
        raise AssertionError("unreachable")

    def _take(self, caller: str, now: float) -> float:
        rate = self.per_minute / 60
        try:
            with Session(self.engine) as session, session.begin():
                row = session.scalars(
                    select(BucketRow).where(BucketRow.caller == caller).with_for_update()
                ).first()
                if row is None:
                    row = BucketRow(caller=caller, tokens=float(self.per_minute), updated=now)
                    session.add(row)
                row.tokens = min(float(self.per_minute), row.tokens + (now - row.updated) * rate)
                row.updated = now
                if row.tokens < 1:
                    return (1 - row.tokens) / rate
                row.tokens -= 1
                return 0.0
        except (IntegrityError, OperationalError):
            raise
        except SQLAlchemyError as error:
            raise Unavailable(
                f"the rate limits cannot be read ({type(error).__name__}); try again shortly"
            ) from None
