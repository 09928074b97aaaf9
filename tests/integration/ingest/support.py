"""What the ingest tests share: real AWS-style parts on 127.0.0.1 (moto's SQS and S3 over HTTP), the
local runner's upload endpoint, and readers for what a user sees after an ingest (the source over
the API, retrieval hits, rows through TenantScope, points through TenantVectorStore).

Its fixtures (`moto_aws`, `web_server`) reach every test as a plugin (`pytest_plugins` in
tests/conftest.py); its helpers are imported by name."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from minirag.local.events import SqsRecordInput, sqs_event
from minirag.queue.messages import IngestMessage
from tests.conftest import reset_caches

# --------------------------------------------------------------------------- reading results


def get_source(api, tenant, source_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/sources/{source_id}", token=tenant.token)
    assert response.status == 200, response.body
    return response.json


def request_ingest(api, tenant, source_id: str) -> dict[str, Any]:
    response = api.post(f"/v1/sources/{source_id}/ingest", token=tenant.token)
    assert response.status == 202, response.body
    assert response.json["status"] == "queued"
    return response.json


def retrieve(api, tenant, bot_id: str, query: str, *, mode: str = "dense", top_k: int = 20) -> list[dict[str, Any]]:
    response = api.post("/v1/retrieve", {"bot_profile_id": bot_id, "query": query, "mode": mode, "top_k": top_k,
                                         "min_score": 0.0}, token=tenant.token)
    assert response.status == 200, response.body
    return response.json["data"]


def db_counts(tenant, source_id: str, *, version: int | None = None) -> tuple[int, int]:
    """(documents, chunks) rows of a source, read through TenantScope."""
    from minirag.db.engine import get_session_factory
    from minirag.db.models import Chunk, Document
    from minirag.db.scope import TenantScope

    sid = uuid.UUID(source_id)
    with get_session_factory()() as session:
        scope = TenantScope(session, uuid.UUID(tenant.id))
        doc_criteria = [Document.source_id == sid] + ([Document.version == version] if version is not None else [])
        chunk_criteria = [Chunk.source_id == sid] + ([Chunk.version == version] if version is not None else [])
        return scope.count(Document, *doc_criteria), scope.count(Chunk, *chunk_criteria)


def vector_count(tenant, source_id: str, *, version: int | None = None, model: str = "local/hash") -> int:
    """Points of a source in the bot model's collection, counted through TenantVectorStore."""
    from minirag.settings import get_settings
    from minirag.vectorstore.indexes import QdrantIndexes

    store = QdrantIndexes.from_settings(get_settings()).for_model(uuid.UUID(tenant.id), model, 384)
    return store.count(source_id=source_id, version=version)


def documents(tenant, source_id: str) -> list[Any]:
    """The source's Document rows (position order), through TenantScope."""
    from minirag.db.engine import get_session_factory
    from minirag.db.models import Document
    from minirag.db.scope import TenantScope

    with get_session_factory()() as session:
        scope = TenantScope(session, uuid.UUID(tenant.id))
        stmt = scope.select(Document).where(Document.source_id == uuid.UUID(source_id)).order_by(Document.position)
        rows = list(scope.scalars(stmt))
        session.expunge_all()
        return rows


def assert_consistent(tenant, source: dict[str, Any]) -> None:
    """A ready source: rows, points and the progress the API shows all agree, for one version."""
    docs, chunks = db_counts(tenant, source["id"])
    assert source["status"] == "ready", source
    assert source["ready_version"] == source["version"]
    progress = source["progress"]
    assert progress["documents_done"] == progress["documents_total"] == docs > 0, (progress, docs)
    assert progress["chunks"] == chunks == vector_count(tenant, source["id"]) > 0, (progress, chunks)
    assert progress["batches_done"] == progress["batches_total"] >= 1, progress
    assert db_counts(tenant, source["id"], version=source["version"]) == (docs, chunks)
    assert source["last_error"] is None
    assert source["queued_at"] <= source["started_at"] <= source["finished_at"]


# --------------------------------------------------------------------------- queue helpers


def ingest_message(tenant, source: dict[str, Any], **overrides: Any) -> str:
    """The body `request_ingest` publishes for the source's current version."""
    fields = {"tenant_id": tenant.id, "source_id": source["id"], "version": source["version"], **overrides}
    return IngestMessage(**fields).model_dump_json()


def take_queued() -> list[str]:
    """Remove and return every body waiting on the embedded queue."""
    from minirag.queue.embedded import get_embedded_queue

    queue = get_embedded_queue()
    messages = queue.receive(10_000)
    queue.delete(messages)
    return [m.body for m in messages]


def event_for(*bodies: str, receive_count: int = 1) -> tuple[dict[str, Any], list[str]]:
    """An SQS event from the local runner's builder, and its message ids."""
    records = [SqsRecordInput(body, receive_count=receive_count) for body in bodies]
    return sqs_event(records), [r.message_id for r in records]


def ingest_handler(api):
    from minirag.local.template import load_handler

    mapping = api.template.sqs_mappings[0]
    return load_handler(api.template, mapping.function)


def invoke_ingest(api, event: dict[str, Any]) -> dict[str, Any]:
    """The real ingest handler, called the way Lambda calls it."""
    from minirag.local.events import LambdaContext

    mapping = api.template.sqs_mappings[0]
    return ingest_handler(api)(event, LambdaContext(function_name=mapping.function.logical_id))


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


# --------------------------------------------------------------------------- uploads


def create_upload_source(api, tenant, bot_id: str, filename: str, **extra: Any) -> dict[str, Any]:
    response = api.post("/v1/sources", {"bot_profile_id": bot_id, "name": filename, "source_type": "upload",
                                        "filename": filename, **extra}, token=tenant.token)
    assert response.status == 201, response.body
    assert response.json["upload"]["method"] == "PUT"
    return response.json


@lru_cache(maxsize=1)
def local_runner(api) -> Any:
    from starlette.testclient import TestClient

    from minirag.local.server import build_local_app
    from minirag.settings import get_settings

    return TestClient(build_local_app(api.template, get_settings()))


def put_upload(api, upload: dict[str, Any], data: bytes) -> None:
    """What a client does with the upload instructions: PUT the bytes to the URL with the headers.
    A local (embedded default) URL goes to the local runner's endpoint in-process; an S3
    presigned URL goes over HTTP to moto."""
    from minirag.storage.uploads import LOCAL_UPLOAD_PATH

    if LOCAL_UPLOAD_PATH in upload["url"]:
        response = local_runner(api).put(upload["url"], content=data, headers=upload["headers"])
    else:
        import httpx

        response = httpx.put(upload["url"], content=data, headers=upload["headers"], timeout=10)
    assert response.status_code == 200, response.text


# --------------------------------------------------------------------------- moto (SQS + S3 over HTTP)


@lru_cache(maxsize=1)
def moto_endpoint() -> str:
    """One moto server per test session on 127.0.0.1 (daemon thread; stops with the process)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


@dataclass
class MotoAws:
    endpoint: str
    queue_url: str
    dlq_url: str
    bucket: str
    max_receive_count: int

    def sqs(self) -> Any:
        import boto3

        return boto3.client("sqs", endpoint_url=self.endpoint)

    def s3(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint)

    def queue_depth(self, url: str | None = None) -> int:
        attrs = self.sqs().get_queue_attributes(
            QueueUrl=url or self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def dead_letters(self) -> list[str]:
        response = self.sqs().receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        return [m["Body"] for m in response.get("Messages", [])]


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoAws]:
    """SQS (queue + DLQ with a redrive policy, as in template.yaml) and an S3 bucket on a moto
    server over HTTP, selected the way users select them: QUEUE_BACKEND=sqs, STORAGE_BACKEND=s3
    and AWS_ENDPOINT_URL. Fresh names per test."""
    import boto3

    endpoint = moto_endpoint()
    suffix = uuid.uuid4().hex[:10]
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    dlq_url = sqs.create_queue(QueueName=f"ingest-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    max_receive = 3
    queue_url = sqs.create_queue(QueueName=f"ingest-{suffix}", Attributes={
        "VisibilityTimeout": "720",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)}),
    })["QueueUrl"]
    bucket = f"uploads-{suffix}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    for key, value in {"AWS_ENDPOINT_URL": endpoint, "QUEUE_BACKEND": "sqs", "INGEST_QUEUE_URL": queue_url,
                       "STORAGE_BACKEND": "s3", "UPLOAD_BUCKET": bucket,
                       "INGEST_MAX_RECEIVE_COUNT": str(max_receive)}.items():
        monkeypatch.setenv(key, value)
    reset_caches()
    yield MotoAws(endpoint, queue_url, dlq_url, bucket, max_receive)


# --------------------------------------------------------------------------- a web server on 127.0.0.1


@dataclass
class WebServer:
    base_url: str
    pages: dict[str, tuple[str, bytes]]


@pytest.fixture
def web_server() -> Iterator[WebServer]:
    """http.server on 127.0.0.1 serving `pages[path] = (content_type, body)`."""
    pages: dict[str, tuple[str, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            page = pages.get(self.path)
            if page is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", page[0])
            self.send_header("Content-Length", str(len(page[1])))
            self.end_headers()
            self.wfile.write(page[1])

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WebServer(f"http://127.0.0.1:{server.server_address[1]}", pages)
    finally:
        server.shutdown()
        server.server_close()
