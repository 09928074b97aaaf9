"""SystemFunction: GET /health (liveness: no credential, no database), GET /v1/system/health (each
part probed and timed; a failing part is a 503 of the same shape, never a 500) and
GET /v1/system/health/detailed (versions and the caller tenant's own counts)."""

from __future__ import annotations

import socket

import pytest

from minirag.db.models import Chunk
from minirag.settings import get_settings
from tests.assertions import assert_error
from tests.conftest import reset_caches
from tests.factories import make_bot_profile, make_ingested_source, make_source

PARTS = {"database", "vector_store", "queue", "storage"}


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _point(monkeypatch, **env: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_caches()


def _assert_shape(body: dict, status: str) -> None:
    assert body["status"] == status, body
    assert set(body["checks"]) == PARTS, body
    for part in body["checks"].values():
        assert part["status"] in ("ok", "error") and isinstance(part["latency_ms"], (int, float))
        assert part["latency_ms"] >= 0


def test_liveness_needs_no_credential_and_no_database(api, monkeypatch):
    # Given the database pointed at a port nothing listens on
    _point(monkeypatch, DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/none")

    # When anyone calls /health
    response = api.get("/health")

    # Then it is alive
    assert response.status == 200, response.body
    assert response.json == {"status": "ok"}


def test_system_health_without_token_returns_401(api):
    # Given no credential / When /v1/system/health is called / Then 401, for both routes
    assert_error(api.get("/v1/system/health"), 401, "unauthenticated")
    assert_error(api.get("/v1/system/health/detailed"), 401, "unauthenticated")


def test_system_health_reports_every_part_ok_on_the_embedded_defaults(api, tenant_a):
    # Given the embedded defaults (SQLite/PostgreSQL, Qdrant in memory, embedded queue, local uploads)
    # When an authenticated caller asks
    response = api.get("/v1/system/health", token=tenant_a.token)

    # Then each part is ok with its latency
    assert response.status == 200, response.body
    _assert_shape(response.json, "ok")
    assert {name for name, part in response.json["checks"].items() if part["status"] == "ok"} == PARTS


def test_system_health_reports_sqs_and_s3_ok_on_moto(api, tenant_a, moto_aws):
    # Given SQS and S3 on moto / When the caller asks / Then every part is ok
    response = api.get("/v1/system/health", token=tenant_a.token)
    assert response.status == 200, response.body
    _assert_shape(response.json, "ok")


def test_missing_bucket_returns_503_naming_storage(api, tenant_a, moto_aws, monkeypatch):
    # Given uploads pointed at a bucket that does not exist on moto
    _point(monkeypatch, UPLOAD_BUCKET="no-such-bucket-here")

    # When the caller asks
    response = api.get("/v1/system/health", token=tenant_a.token)

    # Then a 503 of the same shape: degraded, storage in error, the rest ok
    assert response.status == 503, response.body
    _assert_shape(response.json, "degraded")
    failing = {name for name, part in response.json["checks"].items() if part["status"] == "error"}
    assert failing == {"storage"}
    assert response.json["checks"]["storage"]["error"]


def test_missing_queue_returns_503_naming_queue(api, tenant_a, moto_aws, monkeypatch):
    # Given the ingest queue URL naming a queue moto does not have
    _point(monkeypatch, INGEST_QUEUE_URL=moto_aws.queue_url + "-gone")

    # When the caller asks / Then 503 with the queue in error
    response = api.get("/v1/system/health", token=tenant_a.token)
    assert response.status == 503, response.body
    _assert_shape(response.json, "degraded")
    assert {n for n, p in response.json["checks"].items() if p["status"] == "error"} == {"queue"}


def test_unreachable_qdrant_returns_503_naming_vector_store(api, tenant_a, monkeypatch):
    # Given a Qdrant server URL where nothing listens
    _point(monkeypatch, QDRANT_URL=f"http://127.0.0.1:{_closed_port()}")

    # When the caller asks / Then 503 with the vector store in error
    response = api.get("/v1/system/health", token=tenant_a.token)
    assert response.status == 503, response.body
    _assert_shape(response.json, "degraded")
    assert {n for n, p in response.json["checks"].items() if p["status"] == "error"} == {"vector_store"}


def test_unreachable_database_returns_503_naming_database_not_500(api, tenant_a, monkeypatch):
    # Given the database pointed at a port nothing listens on (after A got its token)
    _point(monkeypatch, DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/none")

    # When the caller asks (its token cannot even be checked)
    response = api.get("/v1/system/health", token=tenant_a.token)

    # Then a 503 of the health shape naming the database, and no other part is reported unauthenticated
    assert response.status == 503, response.body
    assert response.json["status"] == "degraded"
    assert response.json["checks"]["database"]["status"] == "error"
    assert set(response.json["checks"]) == {"database"}


def test_detailed_health_adds_versions_and_own_counts_only(api, tenant_a, tenant_b, ingest_worker, tenant_rows):
    # Given tenant A with a bot and an ingested source, and tenant B with one bot and no source
    bot = make_bot_profile(api, tenant_a)
    source = make_ingested_source(api, tenant_a, bot["id"], ingest_worker)
    make_source(api, tenant_a, bot["id"], name="second")
    make_bot_profile(api, tenant_b)

    # When each asks for the detailed health
    a = api.get("/v1/system/health/detailed", token=tenant_a.token)
    b = api.get("/v1/system/health/detailed", token=tenant_b.token)

    # Then both carry the versions, and each sees its own tenant's counts, nothing of the other's
    assert a.status == 200 and b.status == 200, (a.body, b.body)
    _assert_shape(a.json, "ok")
    assert set(a.json["versions"]) == {"minirag", "python", "sqlalchemy", "qdrant_backend"}
    assert all(isinstance(v, str) and v for v in a.json["versions"].values())
    assert get_settings().vector_backend in a.json["versions"]["qdrant_backend"]
    assert a.json["tenant"]["id"] == tenant_a.id and b.json["tenant"]["id"] == tenant_b.id
    assert a.json["tenant"]["counts"]["bots"] == 1 and a.json["tenant"]["counts"]["sources"] == 2
    assert a.json["tenant"]["counts"]["chunks"] == len(tenant_rows(tenant_a, Chunk)) > 0
    assert b.json["tenant"]["counts"] == {"bots": 1, "sources": 0, "chunks": 0}
    for leaked in (tenant_a.id, bot["id"], source["id"]):
        assert leaked not in b.body.decode()


@pytest.mark.parametrize("path", ["/v1/system/health", "/v1/system/health/detailed"])
def test_health_of_a_failing_part_has_the_same_shape_on_detailed(api, tenant_a, moto_aws, monkeypatch, path):
    # Given the bucket missing / When either route is called / Then a 503 with storage in error
    _point(monkeypatch, UPLOAD_BUCKET="no-such-bucket-here")
    response = api.get(path, token=tenant_a.token)
    assert response.status == 503, response.body
    assert response.json["checks"]["storage"]["status"] == "error"
