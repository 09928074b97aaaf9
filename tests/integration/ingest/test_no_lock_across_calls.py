"""No transaction stays open across a vector-store or model call: while a purge waits on the vector
store, or an ingest on the embedding model, every other request reads and writes at once.

The attack: a purge kept SQLite's write transaction open while deleting vectors, so another tenant's
`GET /v1/bot-profiles` took 7 s and a `GET /v1/sources/{id}` answered 500 `database is locked`."""

from __future__ import annotations

import threading

import pytest

from minirag.llm.gateway import LLMGateway
from minirag.vectorstore.store import TenantVectorStore
from tests.factories import make_bot_profile, make_ingested_source, make_source
from tests.integration.ingest.support import request_ingest

WAIT = 20  # seconds a blocked call may wait for the test before it gives up (never reached when green)


class Gate:
    """Holds the calls of one kind at their start until the test has looked around."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.open_transaction_seen: list[bool] = []

    def hold(self, probe) -> None:
        self.open_transaction_seen.append(probe())
        self.entered.set()
        assert self.release.wait(WAIT), "the test never released the call"


def _others_proceed(api, tenant_a, tenant_b, source_id: str) -> None:
    """Reads and a write of both tenants answer normally while the call is held."""
    assert api.get("/v1/bot-profiles", token=tenant_b.token).status == 200
    assert api.get(f"/v1/sources/{source_id}", token=tenant_a.token).status in (200, 404)
    assert api.post("/v1/bot-profiles", {"name": "Other", "system_prompt": "Be brief."},
                    token=tenant_b.token).status == 201


def _in_background(fn) -> threading.Thread:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # surfaced by the test after join
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def _finish(gate: Gate, thread: threading.Thread) -> None:
    gate.release.set()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert not thread.errors, thread.errors  # type: ignore[attr-defined]


def test_reads_stay_fast_while_a_purge_deletes_vectors(api, tenant_a, tenant_b, ingest_worker, open_transactions,
                                                      monkeypatch):
    bot = make_bot_profile(api, tenant_a)
    source = make_ingested_source(api, tenant_a, bot["id"], ingest_worker, content="Returns take 30 days.")
    gate = Gate()
    original = TenantVectorStore.delete_source

    def held_delete(self, *args, **kwargs):
        gate.hold(open_transactions)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TenantVectorStore, "delete_source", held_delete)
    # When the source is deleted and its purge is held inside the vector-store delete
    assert api.delete(f"/v1/sources/{source['id']}", token=tenant_a.token).status == 204
    worker = _in_background(ingest_worker.drain)
    assert gate.entered.wait(WAIT)
    # Then no transaction is open and other requests answer at once
    assert gate.open_transaction_seen == [False]
    _others_proceed(api, tenant_a, tenant_b, source["id"])
    _finish(gate, worker)


@pytest.mark.parametrize("call", ["embed"])
def test_reads_stay_fast_while_an_ingest_waits_for_the_model(api, tenant_a, tenant_b, ingest_worker,
                                                             open_transactions, monkeypatch, call):
    bot = make_bot_profile(api, tenant_a)
    source = make_source(api, tenant_a, bot["id"], content="Shipping takes three days.")
    gate = Gate()
    original = getattr(LLMGateway, call)

    def held(self, *args, **kwargs):
        gate.hold(open_transactions)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LLMGateway, call, held)
    request_ingest(api, tenant_a, source["id"])
    worker = _in_background(ingest_worker.drain)
    assert gate.entered.wait(WAIT)
    assert gate.open_transaction_seen == [False]
    _others_proceed(api, tenant_a, tenant_b, source["id"])
    _finish(gate, worker)
    assert api.get(f"/v1/sources/{source['id']}", token=tenant_a.token).json["status"] == "ready"
