"""Nothing stays stuck (issue 10, item 11): the reconciler (the scheduled ReconcileFunction, fed the
EventBridge event the local runner builds) re-enqueues a source whose message was lost, then fails it
with a reason; `minirag redrive-dlq` puts dead letters back to work; `minirag purge-inactive`
finishes purges that were lost."""

from __future__ import annotations

import pytest

from minirag.cli import main
from minirag.llm.gateway import LLMGateway
from minirag.local.events import LambdaContext, scheduled_event
from minirag.local.template import load_handler
from minirag.queue.embedded import get_embedded_queue
from minirag.settings import get_settings
from tests.factories import make_bot_profile, make_source
from tests.integration.ingest.support import (
    assert_consistent,
    db_counts,
    get_source,
    request_ingest,
    take_queued,
    vector_count,
)


@pytest.fixture
def reconcile(api, monkeypatch):
    """Run the scheduled function once; every in-progress source counts as past its deadline."""
    monkeypatch.setenv("INGEST_STUCK_AFTER_SECONDS", "0")
    get_settings.cache_clear()
    handler = load_handler(api.template, api.template.functions["ReconcileFunction"])
    return lambda: handler(scheduled_event(), LambdaContext(function_name="ReconcileFunction"))


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


def test_source_whose_message_was_lost_is_requeued_then_ready(api, tenant_a, bot, reconcile, ingest_worker):
    # Given an accepted ingest whose message was lost (the old in-process queue on a crash)
    source = make_source(api, tenant_a, bot["id"], content="# Refunds\n\nRefunds take 14 days.")
    request_ingest(api, tenant_a, source["id"])
    assert len(take_queued()) == 1

    # When the reconciler runs, then the worker
    report = reconcile()
    ingest_worker.drain()

    # Then it was re-enqueued and is now ready, once
    assert report["requeued"] == [source["id"]] and report["failed"] == []
    assert_consistent(tenant_a, get_source(api, tenant_a, source["id"]))


def test_source_stuck_again_after_requeue_fails_with_a_reason(api, tenant_a, bot, reconcile):
    # Given a source whose message is lost, re-enqueued once, and lost again
    source = make_source(api, tenant_a, bot["id"])
    request_ingest(api, tenant_a, source["id"])
    take_queued()
    assert reconcile()["requeued"] == [source["id"]]
    take_queued()

    # When the reconciler finds it stuck again
    report = reconcile()

    # Then the source is failed with a readable reason (not left queued forever)
    assert report["failed"] == [source["id"]]
    failed = get_source(api, tenant_a, source["id"])
    assert failed["status"] == "error" and "even after being re-queued; ingest it again" in failed["last_error"]


def test_source_with_a_live_message_is_left_alone(api, tenant_a, bot, reconcile):
    # Given a queued source whose message waits on the embedded queue (a backlog, not a loss)
    source = make_source(api, tenant_a, bot["id"])
    request_ingest(api, tenant_a, source["id"])

    # When the reconciler runs
    report = reconcile()

    # Then nothing is re-enqueued or failed
    assert (report["requeued"], report["failed"], report["live"]) == ([], [], 1)
    assert len(get_embedded_queue()) == 1 and get_source(api, tenant_a, source["id"])["status"] == "queued"


def test_redrive_dlq_ingests_a_dead_lettered_source_again(api, tenant_a, bot, ingest_worker, monkeypatch):
    # Given a source that failed after 3 attempts while the embedder was down: its message is a dead letter
    real = LLMGateway.embed
    down = True

    def embed(self, texts, **kw):
        if down:
            from minirag.errors import UpstreamUnavailable

            raise UpstreamUnavailable("embedder down")
        return real(self, texts, **kw)

    monkeypatch.setattr(LLMGateway, "embed", embed)
    source = make_source(api, tenant_a, bot["id"], content="# Refunds\n\nRefunds take 14 days.")
    request_ingest(api, tenant_a, source["id"])
    ingest_worker.drain()
    assert get_source(api, tenant_a, source["id"])["status"] == "error"
    assert len(get_embedded_queue().dead_letters) == 1

    # When the embedder is back and the operator redrives the DLQ, then the worker runs
    down = False
    assert main(["redrive-dlq"]) == 0
    ingest_worker.drain()

    # Then the source is ready and the DLQ is empty
    assert_consistent(tenant_a, get_source(api, tenant_a, source["id"]))
    assert get_embedded_queue().dead_letters == []


def test_redrive_dlq_on_sqs_moves_dead_letters_back(api, tenant_a, bot, moto_aws):
    # Given an ingest message of a failed source in the SQS DLQ (moto)
    source = make_source(api, tenant_a, bot["id"])
    request_ingest(api, tenant_a, source["id"])
    sqs = moto_aws.sqs()
    [message] = sqs.receive_message(QueueUrl=moto_aws.queue_url, MaxNumberOfMessages=1)["Messages"]
    sqs.send_message(QueueUrl=moto_aws.dlq_url, MessageBody=message["Body"])
    sqs.delete_message(QueueUrl=moto_aws.queue_url, ReceiptHandle=message["ReceiptHandle"])

    # When the operator redrives it
    assert main(["redrive-dlq", "--dlq-url", moto_aws.dlq_url]) == 0

    # Then the DLQ is empty and a plan for the source waits on the ingest queue
    assert moto_aws.dead_letters() == [] and moto_aws.queue_depth() == 1


def test_purge_inactive_removes_what_a_lost_purge_left(api, tenant_a, bot, ingest_worker):
    # Given a ready source, deactivated, whose purge message was lost
    source = make_source(api, tenant_a, bot["id"], content="# Refunds\n\nRefunds take 14 days.")
    request_ingest(api, tenant_a, source["id"])
    ingest_worker.drain()
    assert api.delete(f"/v1/sources/{source['id']}", token=tenant_a.token).status == 204
    assert len(take_queued()) == 1
    assert vector_count(tenant_a, source["id"]) > 0

    # When the operator runs purge-inactive
    assert main(["purge-inactive"]) == 0

    # Then its vectors and rows are gone, and a second run has nothing left to do
    assert vector_count(tenant_a, source["id"]) == 0 and db_counts(tenant_a, source["id"]) == (0, 0)
    from minirag.db.engine import get_session_factory
    from minirag.db.sweep import Sweep

    assert Sweep(get_session_factory()).unpurged_sources() == []
