"""Counters for limits and throttles, kept in the database so every Lambda container sees the same
count: one `usage_counter` row per key, bumped by one atomic upsert-increment statement
(`INSERT ... ON CONFLICT (key) DO UPDATE SET count = count + n RETURNING count`, on SQLite and
PostgreSQL alike). A row past its `expires_at` starts again from the bump, so a key either names a
fixed window (`...:m:<minute>`, `...:d:<day>`) or is a decaying count (login failures).

`TenantCounters` prefixes every key with its tenant, so one tenant's code cannot bump another's.
None of these commit: the caller's unit of work does."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, bindparam, case, delete, select
from sqlalchemy.orm import Session

from minirag.db.models import UsageCounter

SWEEP_ONE_IN = 500  # on average every 500th bump also deletes expired rows (bounded table, no cron)


@dataclass(frozen=True)
class Count:
    count: int
    last_at: int  # epoch seconds of the previous bump (for a peek) or this one (for a bump)


class Counters:
    def __init__(self, session: Session) -> None:
        self._session = session

    def bump(self, key: str, *, now: int, expires_at: int, amount: int = 1) -> Count:
        """Add `amount` (atomically) and return the new count. An expired row restarts at `amount`."""
        stmt = _bump_statement(self._session.get_bind().dialect.name)
        params = {"key": key, "amount": amount, "expires_at": expires_at, "now": now}
        count = int(self._session.execute(stmt, params).scalar_one())
        if random.randrange(SWEEP_ONE_IN) == 0:  # noqa: S311 - not security: spreads the clean-up
            self.sweep(now)
        return Count(count, now)

    def peek(self, key: str, *, now: int, lock: bool = False) -> Count:
        """The current count (0 when absent or expired), without writing. With `lock` (in a write)
        the row stays locked until the transaction ends, so a check and its bump cannot interleave."""
        stmt = select(UsageCounter.count, UsageCounter.last_at).where(UsageCounter.key == key,
                                                                      UsageCounter.expires_at > now)
        if lock:
            stmt = stmt.with_for_update()
        row = self._session.execute(stmt).first()
        return Count(int(row[0]), int(row[1])) if row else Count(0, 0)

    def clear(self, key: str) -> None:
        self._session.execute(delete(UsageCounter).where(UsageCounter.key == key))

    def sweep(self, now: int) -> None:
        self._session.execute(delete(UsageCounter).where(UsageCounter.expires_at <= now))


@lru_cache(maxsize=4)
def _bump_statement(dialect: str) -> Any:
    """The upsert-increment, built once per dialect with bound parameters (building it per call
    cost about as much as running it; several run per API request)."""
    table: Any = UsageCounter.__table__
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    amount: Any = bindparam("amount", type_=BigInteger)
    now: Any = bindparam("now", type_=BigInteger)
    expires_at: Any = bindparam("expires_at", type_=BigInteger)
    stmt = insert(table).values(key=bindparam("key"), count=amount, expires_at=expires_at, last_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"count": case((table.c.expires_at <= now, amount), else_=table.c.count + amount),
              "expires_at": expires_at, "last_at": now})
    return stmt.returning(table.c.count)


class TenantCounters:
    """The counters of one tenant: every key is `t:<tenant id>:<name>`."""

    def __init__(self, session: Session, tenant_id: uuid.UUID) -> None:
        self._counters = Counters(session)
        self._prefix = f"t:{tenant_id}:"

    def bump(self, name: str, *, now: int, expires_at: int, amount: int = 1) -> Count:
        return self._counters.bump(self._prefix + name, now=now, expires_at=expires_at, amount=amount)

    def peek(self, name: str, *, now: int) -> Count:
        return self._counters.peek(self._prefix + name, now=now)
