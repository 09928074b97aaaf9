"""One tenant's backlog does not starve another (issue 10, item 8): the embedded queue takes turns
between tenants, and on SQS every message names its tenant as MessageGroupId (a fair queue)."""

from __future__ import annotations

import json

from minirag.settings import get_settings
from tests.factories import make_bot_profile, make_source
from tests.integration.ingest.support import create_upload_source, get_source, put_upload, request_ingest


def _jsonl(count: int) -> bytes:
    return "\n".join(json.dumps({"id": f"d{i}", "text": f"Document {i} about topic{i}."})
                     for i in range(count)).encode()


def test_small_source_of_another_tenant_is_ready_after_one_batch_behind_a_big_ingest(
        api, tenant_a, tenant_b, ingest_worker, monkeypatch):
    # Given tenant A's big upload fanned out into 20 slices waiting on the queue
    monkeypatch.setenv("INGEST_BATCH_DOCUMENTS", "2")
    get_settings.cache_clear()
    bot_a = make_bot_profile(api, tenant_a)
    big = create_upload_source(api, tenant_a, bot_a["id"], "big.jsonl")
    put_upload(api, big["upload"], _jsonl(40))
    request_ingest(api, tenant_a, big["id"])
    assert ingest_worker.run_once() == 1  # A's plan: publishes its 20 slices
    # And then tenant B asks for a one-chunk source
    bot_b = make_bot_profile(api, tenant_b)
    small = make_source(api, tenant_b, bot_b["id"], content="Refunds take 14 days.")
    request_ingest(api, tenant_b, small["id"])

    # When the worker runs one batch (4 records)
    assert ingest_worker.run_once() == 4

    # Then B's source is ready while most of A's backlog still waits
    assert get_source(api, tenant_b, small["id"])["status"] == "ready"
    progress = get_source(api, tenant_a, big["id"])["progress"]
    assert progress["batches_done"] == 3 and progress["batches_total"] == 20
    # And A still finishes, every slice once
    ingest_worker.drain()
    done = get_source(api, tenant_a, big["id"])
    assert done["status"] == "ready" and done["progress"]["documents_done"] == 40


def test_sqs_messages_name_their_tenant_as_message_group(api, tenant_a, tenant_b, moto_aws):
    # Given two tenants' sources on the SQS backend (moto)
    sources = {}
    for tenant in (tenant_a, tenant_b):
        bot = make_bot_profile(api, tenant)
        sources[tenant.id] = make_source(api, tenant, bot["id"], content="Refunds take 14 days.")["id"]
        # When each asks for an ingest
        request_ingest(api, tenant, sources[tenant.id])

    # Then each message on the queue carries its tenant as MessageGroupId (SQS fair queues key on it)
    received = moto_aws.sqs().receive_message(QueueUrl=moto_aws.queue_url, MaxNumberOfMessages=10,
                                              MessageSystemAttributeNames=["MessageGroupId"])["Messages"]
    groups = {json.loads(m["Body"])["tenant_id"]: m["Attributes"].get("MessageGroupId") for m in received}
    assert groups == {tenant_a.id: tenant_a.id, tenant_b.id: tenant_b.id}
