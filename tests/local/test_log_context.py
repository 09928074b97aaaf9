"""The local runner runs HTTP and ingest invocations at once on threads of one process (Lambda gives
each its own process): every log line must carry the keys of its own invocation."""

from __future__ import annotations

import io
import json
import threading

import pytest

from minirag.observability import logger
from tests.factories import make_bot_profile, make_source


@pytest.fixture
def log_lines(monkeypatch):
    """The Logger's JSON lines (INFO and up) while the test runs."""
    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    level = logger.log_level
    logger.setLevel("INFO")
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.setLevel(level)


def test_ingest_lines_keep_their_context_while_an_http_request_runs(api, tenant_a, ingest_worker, log_lines,
                                                                     monkeypatch):
    # Given a queued ingest, and a hook that serves an HTTP request (another function) while the
    # ingest invocation is half-way, the way `minirag dev` interleaves the API and the worker
    from minirag.vectorstore.store import TenantVectorStore

    bot = make_bot_profile(api, tenant_a)
    source = make_source(api, tenant_a, bot["id"], content="# Llamas\n\nLlamas hum when they are content.")
    assert api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token).status == 202
    received: list[str] = []
    receive = ingest_worker.source.receive

    def record_ids(*args, **kw):
        records = receive(*args, **kw)
        received.extend(r.message_id for r in records)
        return records

    monkeypatch.setattr(ingest_worker.source, "receive", record_ids)
    half_way, http_done = threading.Event(), threading.Event()
    real_upsert = TenantVectorStore.upsert

    def upsert(self, *args, **kw):
        half_way.set()
        assert http_done.wait(30)
        return real_upsert(self, *args, **kw)

    monkeypatch.setattr(TenantVectorStore, "upsert", upsert)

    # When the worker thread ingests and the HTTP request runs meanwhile on this thread
    worker = threading.Thread(target=ingest_worker.run_once)
    worker.start()
    assert half_way.wait(30)
    assert api.get(f"/v1/sources/{source['id']}", token=tenant_a.token).status == 200
    http_done.set()
    worker.join(30)

    # Then the ingest lines carry the ingest function's context and the message and source ids,
    # and the HTTP line its own function's context and nothing of the ingest
    lines = log_lines()
    ready = [line for line in lines if line["message"] == "source ready"]
    assert len(ready) == 1
    assert ready[0]["function_name"] == "IngestFunction"
    assert (ready[0]["message_id"], ready[0]["source_id"], ready[0]["tenant_id"]) == (
        received[0], source["id"], tenant_a.id)
    http = [line for line in lines if line["message"] == "request"]
    assert http and http[-1]["function_name"] == "SourcesFunction"
    assert "message_id" not in http[-1] and "source_id" not in http[-1]
