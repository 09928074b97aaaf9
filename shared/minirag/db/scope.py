"""`TenantScope`: the only path to tenant-owned rows, plus a session-wide safety net.

Services receive a `TenantScope`, never a `Session`. Every statement built through it is filtered by
the tenant; `get` runs a filtered SELECT (never `Session.get`, which could answer from the identity
map), so a foreign id raises exactly the same `NotFound` as a missing one.

The safety net is SQLAlchemy's documented global-criteria recipe: a `do_orm_execute` listener adds
`tenant_id = :tenant` to every ORM SELECT/UPDATE/DELETE touching a `TenantOwned` model, and raises
`UnscopedQueryError` when the session has no tenant and the statement is not marked as a system query.
A forgotten filter therefore fails loudly in tests instead of leaking data.

The unit of work is visible: `with scope.read():` (a read-only transaction; on SQLite a deferred
`BEGIN`, no write lock) and `with scope.write():` (on SQLite `BEGIN IMMEDIATE`, so writers
serialise; commits on success, rolls back on any exception). Both end their transaction on exit, so
none is held across a model call, and rows read inside stay loaded afterwards (reads end with a
commit, which does not expire them). Repositories never commit; the unit of work does.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Iterator, Sequence, TypeVar

from sqlalchemy import Select, and_, event, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from minirag.db.base import TenantOwned
from minirag.db.engine import BEGIN_MODE
from minirag.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from minirag.db.counters import TenantCounters

SYSTEM_QUERY = "minirag_system_query"
"""Execution option that marks a deliberate unscoped query (only `minirag.db.system` sets it)."""

T = TypeVar("T", bound=TenantOwned)

RESOURCE_NAMES = {
    "BotProfile": "bot profile",
    "ApiToken": "API token",
    "Source": "source",
    "Document": "document",
    "Chunk": "chunk",
    "Chat": "chat",
    "Message": "message",
    "User": "user",
    "UsageEvent": "usage event",
}


class UnscopedQueryError(RuntimeError):
    """An ORM query on tenant-owned rows ran without a tenant: a bug, never a client error."""


class UniqueViolation(Exception):
    """A write broke a unique constraint (e.g. a concurrent insert of the same slug): the caller
    turns it into its domain conflict. Raised by `write()` in place of the driver's error."""


_UNIT_OF_WORK = "minirag_unit_of_work"


def _is_unique_violation(exc: IntegrityError) -> bool:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(orig)


@contextmanager
def unit_of_work(session: Session, *, write: bool) -> Iterator[None]:
    """One transaction on `session`, begun here and ended on exit (see the module docstring).
    Nested blocks join the outer one; a write inside a read is a bug and raises."""
    current = session.info.get(_UNIT_OF_WORK)
    if current is not None:
        if write and current == "read":
            raise RuntimeError("write() inside read(): open the write unit of work first")
        yield
        return
    if session.in_transaction():
        raise RuntimeError("a transaction is already open on this session; end it before a unit of work")
    session.info[_UNIT_OF_WORK] = "write" if write else "read"
    try:
        session.connection(execution_options={BEGIN_MODE: "immediate" if write else "deferred"})
        yield
        if not write and (session.new or session.deleted or any(session.is_modified(o) for o in session.dirty)):
            raise RuntimeError("read() has pending changes: write them inside write()")
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        if _is_unique_violation(exc):
            raise UniqueViolation(str(exc.orig)) from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_UNIT_OF_WORK, None)


@event.listens_for(Session, "do_orm_execute")
def _enforce_tenant_filter(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # loads on rows that an already-scoped query returned
    if state.execution_options.get(SYSTEM_QUERY):
        return
    if not any(issubclass(m.class_, TenantOwned) for m in state.all_mappers):
        return
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None:
        raise UnscopedQueryError(
            "query on tenant-owned rows without a tenant; use TenantScope or minirag.db.system"
        )
    state.statement = state.statement.options(
        with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


def resource_name(model: type) -> str:
    return RESOURCE_NAMES.get(model.__name__, model.__name__.lower())


@dataclass
class PageResult(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps({"t": created_at.isoformat(), "i": str(row_id)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        created_at = datetime.fromisoformat(data["t"])
        if created_at.tzinfo is None:
            raise ValueError("naive timestamp")
        return created_at, uuid.UUID(data["i"])
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput("cursor", "malformed cursor; pass the next_cursor of a previous page") from None


def _active_column(model: type) -> Any:
    """The `is_active` column of a model that has one (not every model does, so it is looked up by name)."""
    return getattr(model, "is_active")  # noqa: B009 - a literal attribute would not type-check on type[T]


class TenantScope:
    """A session bound to one tenant. The tenant comes only from a verified credential (or from an
    ingest message, trusted only as far as the scoped load of its source)."""

    def __init__(self, session: Session, tenant_id: uuid.UUID) -> None:
        if not isinstance(tenant_id, uuid.UUID):
            raise TypeError("tenant_id must be a UUID")
        bound = session.info.get("tenant_id")
        if bound is not None and bound != tenant_id:
            raise RuntimeError("session already bound to another tenant")
        session.info["tenant_id"] = tenant_id
        self._session = session
        self.tenant_id = tenant_id

    # -- the unit of work ----------------------------------------------------------------------
    def read(self) -> AbstractContextManager[None]:
        """`with scope.read():` a read-only transaction (no write lock on SQLite)."""
        return unit_of_work(self._session, write=False)

    def write(self) -> AbstractContextManager[None]:
        """`with scope.write():` the write transaction: commits on success, rolls back on error."""
        return unit_of_work(self._session, write=True)

    # -- reads ---------------------------------------------------------------------------------
    def select(self, model: type[T], *extra_entities: Any) -> Select:
        """`SELECT model WHERE tenant_id = :tenant` (explicitly, besides the safety net)."""
        return select(model, *extra_entities).where(model.tenant_id == self.tenant_id)

    def where(self, model: type[T], *, active_only: bool = False, **equals: Any) -> Select:
        """`select(model)` for this tenant with `column == value` for each keyword (and, with
        active_only, only active rows): the query-by-example the CRUD services need."""
        stmt = self.select(model)
        if active_only:
            stmt = stmt.where(_active_column(model).is_(True))
        for column, value in equals.items():
            stmt = stmt.where(getattr(model, column) == value)
        return stmt

    def all(self, model: type[T], *, active_only: bool = False, **equals: Any) -> list[T]:
        return list(self._session.execute(self.where(model, active_only=active_only, **equals)).scalars())

    def count(self, model: type[T], *criteria: Any) -> int:
        stmt = select(func.count()).select_from(model).where(model.tenant_id == self.tenant_id, *criteria)
        return int(self._session.execute(stmt).scalar_one())

    def get(self, model: type[T], row_id: uuid.UUID | str, *, active_only: bool = False,
            for_update: bool = False) -> T:
        """The row, or `NotFound` whether it is missing, foreign or (with active_only) deactivated."""
        obj = self.find(model, row_id, active_only=active_only, for_update=for_update)
        if obj is None:
            raise NotFound(resource_name(model))
        return obj

    def find(self, model: type[T], row_id: uuid.UUID | str, *, active_only: bool = False,
             for_update: bool = False) -> T | None:
        try:
            key = row_id if isinstance(row_id, uuid.UUID) else uuid.UUID(str(row_id))
        except ValueError:
            return None
        stmt = self.select(model).where(model.id == key)
        if active_only and hasattr(model, "is_active"):
            stmt = stmt.where(_active_column(model).is_(True))
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return self._session.execute(stmt).scalars().first()

    def require_ref(self, model: type[T], row_id: uuid.UUID | str, *, field: str, active_only: bool = True) -> T:
        """Check a reference from a request body *before* writing: a foreign id is a 404 naming the field."""
        obj = self.find(model, row_id, active_only=active_only)
        if obj is None:
            raise NotFound(resource_name(model), field=field)
        return obj

    # Generic statements, for db/ query modules (e.g. db/chat_rows.py). Still public because
    # services/ingestion.py and RetrievalService's visible-version read use them until their SQL
    # moves into db/ as well; make them private then.
    def scalars(self, stmt: Select) -> Sequence[Any]:
        return self._session.execute(stmt).scalars().all()

    def execute(self, stmt: Any) -> Any:
        return self._session.execute(stmt)

    def page(self, model: type[T], *, limit: int, cursor: str | None, newest_first: bool = True,
             active_only: bool = False, criteria: Sequence[Any] = (), **equals: Any) -> PageResult[T]:
        """Keyset pagination over (created_at, id) of `where(model, ...)` (and any further SQL
        `criteria`, from db/ query modules): stable under concurrent inserts, O(limit) per page."""
        stmt = self.where(model, active_only=active_only, **equals).where(*criteria)
        if cursor:
            at, row_id = decode_cursor(cursor)
            if newest_first:
                stmt = stmt.where(or_(model.created_at < at, and_(model.created_at == at, model.id < row_id)))
            else:
                stmt = stmt.where(or_(model.created_at > at, and_(model.created_at == at, model.id > row_id)))
        order = (model.created_at.desc(), model.id.desc()) if newest_first else (model.created_at.asc(), model.id.asc())
        rows = list(self._session.execute(stmt.order_by(*order).limit(limit + 1)).scalars())
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id)
        return PageResult(rows, next_cursor)

    def counters(self) -> "TenantCounters":
        """This tenant's limit counters (`minirag.db.counters`), on the same unit of work."""
        from minirag.db.counters import TenantCounters

        return TenantCounters(self._session, self.tenant_id)

    # -- writes --------------------------------------------------------------------------------
    def add(self, obj: T) -> T:
        obj.tenant_id = self.tenant_id
        self._session.add(obj)
        return obj

    def flush(self) -> None:
        self._session.flush()

    # Bare transaction control, from before read()/write(): only services/ingestion.py and tests
    # still use it. Prefer a unit of work.
    def commit(self) -> None:
        self._session.commit()

    def rollback(self) -> None:
        self._session.rollback()
