"""Engine and session factory, created once per process (one Lambda container = one engine).

PostgreSQL runs through psycopg 3 with a small pool (a Lambda container serves one request at a
time; a big pool per container is how connection storms start). SQLite (the embedded default) gets
foreign keys, WAL and a busy timeout. Its transactions start with `BEGIN IMMEDIATE` (the write lock:
concurrent writers wait instead of failing with "database is locked" halfway through), except those
a unit of work declares read-only (`scope.read()`), which start with a plain deferred `BEGIN`.
Both hide bound parameters from errors: a failed statement is logged, and its values are token
hashes, encrypted provider keys and tenants' documents.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Session", "get_session_factory"]  # Session is re-exported: callers outside db/ name the type only

from minirag.settings import get_settings

BEGIN_MODE = "minirag_begin"
"""Connection execution option naming how a SQLite transaction begins: "deferred" (a read) or
"immediate" (the default: any transaction not declared read-only may write). Set by `db.scope`."""


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" hook below issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        deferred = conn.get_execution_options().get(BEGIN_MODE) == "deferred"
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def build_engine(url: str, *, pool_size: int = 2) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=2,
        pool_pre_ping=True,
        pool_recycle=300,
        pool_timeout=10,
        hide_parameters=True,
    )


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    settings = get_settings()
    return build_engine(settings.resolved_database_url, pool_size=settings.db_pool_size)


@lru_cache(maxsize=1)
def get_session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False, autoflush=False)


def reset_engine() -> None:
    """Dispose the cached engine (tests, settings changes)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_session_factory.cache_clear()


def ping() -> None:
    """The health check's database probe: `SELECT 1` on a pooled connection, read-only (a deferred
    BEGIN on SQLite, so it never waits for or takes the write lock)."""
    with get_engine().connect() as conn:
        conn.execution_options(**{BEGIN_MODE: "deferred"}).execute(text("SELECT 1"))
