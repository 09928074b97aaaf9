"""Shared fixtures: settings for tests, the database backends (SQLite always, PostgreSQL when
TEST_DATABASE_URL is set), a clean state per test, an `api` client that drives the real handlers
with API Gateway v2 events routed by template.yaml, and two tenants for isolation tests."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
_DATA_DIR = Path(tempfile.mkdtemp(prefix="minirag-test-"))

from minirag.local.invoke import invoke, sandbox_environment  # noqa: E402  (reads no settings)

# Set before anything reads the settings (they are cached).
sandbox_environment(
    os.environ, _DATA_DIR, ENVIRONMENT="test", POWERTOOLS_LOG_LEVEL=os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
    EMBEDDING_MODEL="local/hash", DEFAULT_CHAT_MODEL="local/extractive", PUBLIC_BASE_URL="http://127.0.0.1:8000",
)
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

from minirag.local.events import LambdaContext  # noqa: E402
from minirag.local.template import load_template  # noqa: E402
from tests.assertions import sqlite_write_lock_taken  # noqa: E402

# Fixtures shared across folders, as plugins: cheap argon2 (autouse), moto AWS and a local web server.
pytest_plugins = ["tests.fast_passwords", "tests.integration.ingest.support"]

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def reset_caches() -> None:
    """Forget every per-process singleton so the next use reads the current environment."""
    from minirag.db.engine import reset_engine
    from minirag.queue import publisher
    from minirag.security import fernet
    from minirag.settings import get_settings
    from minirag.storage import uploads

    get_settings.cache_clear()
    reset_engine()
    fernet.reset_cache()
    publisher.get_publisher.cache_clear()
    from minirag.queue import webhooks

    webhooks.get_webhook_publisher.cache_clear()
    uploads.get_storage.cache_clear()
    from minirag.llm import gateway as factory

    factory.get_gateway.cache_clear()
    try:
        from minirag.vectorstore.indexes import reset_stores

        reset_stores()
    except ImportError:
        pass


def _wipe(url: str) -> None:
    from sqlalchemy import create_engine, text

    from minirag.db import models  # noqa: F401
    from minirag.db.base import Base

    engine = create_engine(url)
    with engine.begin() as conn:
        if url.startswith("postgresql"):
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A freshly migrated database per backend (the real Alembic migrations, not create_all)."""
    from minirag.db.migrate import upgrade
    from minirag.settings import Settings

    if request.param == "sqlite":
        url = f"sqlite:///{_DATA_DIR / 'test.db'}"
    else:
        url = Settings(database_url=os.environ["TEST_DATABASE_URL"]).database_url
    _wipe(url)
    upgrade(url)
    return url


def _truncate(url: str) -> None:
    from sqlalchemy import text

    from minirag.db.base import Base
    from minirag.db.engine import get_engine

    engine = get_engine()
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if url.startswith("postgresql"):
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture(autouse=True)
def clean_state(database_url: str, monkeypatch: pytest.MonkeyPatch):
    """Every test starts from empty tables, an empty queue and a fresh in-memory vector store.
    (tests/unit overrides this fixture: unit tests need no database and run once.)"""
    url = database_url
    monkeypatch.setenv("DATABASE_URL", url)
    reset_caches()
    _truncate(url)
    yield url
    reset_caches()


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def error_code(self) -> str | None:
        data = self.json
        return data.get("error", {}).get("code") if isinstance(data, dict) else None

    def error_fields(self) -> set[str]:
        details = (self.json or {}).get("error", {}).get("details") or []
        return {d.get("field") for d in details if isinstance(d, dict)}


class Api:
    """Calls the real Lambda handler of the route that template.yaml maps the request to
    (through `minirag.local.invoke`, as the local runner does)."""

    def __init__(self) -> None:
        self.template = load_template(str(ROOT / "template.yaml"))

    def request(self, method: str, path: str, *, json_body: Any = None, token: str | None = None,
                headers: dict[str, str] | None = None, query: dict[str, Any] | None = None,
                raw_body: bytes | str | None = None, source_ip: str = "127.0.0.1") -> ApiResponse:
        all_headers = {"content-type": "application/json", **(headers or {})}
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        body = raw_body if raw_body is not None else (json.dumps(json_body) if json_body is not None else None)
        result = invoke(self.template, method, path, headers=all_headers, body=body,
                        query={k: str(v) for k, v in (query or {}).items()}, source_ip=source_ip)
        return ApiResponse(result.status, result.headers, result.body)

    def get(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> ApiResponse:
        return self.request("POST", path, json_body=json_body, **kw)

    def patch(self, path: str, json_body: Any = None, **kw: Any) -> ApiResponse:
        return self.request("PATCH", path, json_body=json_body, **kw)

    def delete(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("DELETE", path, **kw)


@pytest.fixture(scope="session")
def api() -> Api:
    return Api()


@dataclass
class TenantCtx:
    id: str
    slug: str
    token: str
    owner_id: str
    owner_email: str
    owner_password: str
    api_token_id: str


def bootstrap_tenant(api: Api, slug: str) -> TenantCtx:
    password = f"pw-{slug}-correct-horse"
    email = f"owner@{slug}.example.com"
    response = api.post("/v1/tenants", {"tenant_name": slug.title(), "tenant_slug": slug,
                                        "owner_email": email, "owner_password": password})
    assert response.status == 201, response.body
    data = response.json
    return TenantCtx(data["tenant"]["id"], slug, data["raw_token"], data["owner"]["id"], email, password,
                     data["api_token"]["id"])


@pytest.fixture
def tenant_a(api: Api) -> TenantCtx:
    return bootstrap_tenant(api, "tenant-a")


@pytest.fixture
def tenant_b(api: Api) -> TenantCtx:
    return bootstrap_tenant(api, "tenant-b")


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()



@pytest.fixture
def ingest_worker(api: Api):
    """The local runner's worker: delivers the in-process queue to the real ingest handler as SQS
    events (batchItemFailures honoured, DLQ after INGEST_MAX_RECEIVE_COUNT receives)."""
    from minirag.cli import build_worker
    from minirag.settings import get_settings

    return build_worker(api.template, get_settings())


@pytest.fixture
def tenant_rows():
    """Reads a tenant's rows straight from the database (through a TenantScope), to assert side
    effects a client cannot see: `tenant_rows(tenant_a, UsageEvent, UsageEvent.chat_id == chat_id)`."""

    def read(tenant: TenantCtx, model: Any, *criteria: Any) -> list[Any]:
        from minirag.db.engine import get_session_factory
        from minirag.db.scope import TenantScope

        with get_session_factory()() as session:
            scope = TenantScope(session, uuid.UUID(tenant.id))
            return list(scope.scalars(scope.select(model).where(*criteria)))

    return read


@pytest.fixture
def open_transactions(database_url) -> Callable[[], bool]:
    """True when some connection holds an open transaction on the test database."""

    def probe() -> bool:
        if database_url.startswith("sqlite"):
            return sqlite_write_lock_taken(database_url)
        import psycopg

        url = database_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, autocommit=True) as conn:
            count = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            ).fetchone()[0]
        return bool(count)

    return probe


class Clock:
    """The clock every limit reads (`minirag.services.quotas.epoch_now`), held still and moved by
    the test, so a window never turns over in the middle of one and waiting needs no sleep."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    import time

    from minirag.services import quotas

    start = int(time.time()) // 86400 * 86400 + 12 * 3600 + 10  # today 12:00:10 UTC: mid-minute, mid-day
    fake = Clock(start)
    monkeypatch.setattr(quotas, "epoch_now", fake)
    return fake


def operator(*argv: str) -> tuple[int, str, str]:
    """Run a `minirag` operator command (set-limits, create-tenant, invite) on the test database."""
    import contextlib
    import io

    from minirag.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()
