"""IngestFunction: the real `handler` fed SQS events from the local runner's builder. Partial batch
failures are reported per record; a message is trusted only as far as the tenant-scoped load of
its source; concurrent invocations in one process keep their results apart."""

from __future__ import annotations

import json
import threading

import pytest

from tests.factories import make_bot_profile, make_source
from tests.integration.ingest.support import (
    assert_consistent,
    event_for,
    failed_ids,
    get_source,
    ingest_message,
    invoke_ingest,
    request_ingest,
    take_queued,
)

CONTENT = "# Opening hours\n\nThe shop opens at nine and closes at six."


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


def test_ingest_batch_with_poison_records_fails_only_those(api, tenant_a, bot):
    # Given a batch with one good message, one that is not JSON and one that is not an ingest message
    source = make_source(api, tenant_a, bot["id"], content=CONTENT)
    request_ingest(api, tenant_a, source["id"])
    [good] = take_queued()
    event, (good_id, not_json_id, wrong_shape_id) = event_for(good, "{not json", json.dumps({"tenant_id": 42}))

    # When the ingest function handles the batch
    response = invoke_ingest(api, event)

    # Then only the two bad records are reported as failed, and the good one was ingested
    assert sorted(failed_ids(response)) == sorted([not_json_id, wrong_shape_id])
    assert_consistent(tenant_a, get_source(api, tenant_a, source["id"]))


def test_ingest_batch_of_only_poison_records_reports_each(api):
    # Given a batch in which every record is malformed
    event, ids = event_for("", "[]", "null")

    # When the ingest function handles it
    response = invoke_ingest(api, event)

    # Then each record is reported (no invocation error hides which ones failed)
    assert sorted(failed_ids(response)) == sorted(ids)


def test_ingest_message_with_foreign_tenant_changes_nothing(api, tenant_a, tenant_b, bot):
    # Given tenant A's queued source, and a message naming A's source under tenant B
    source = make_source(api, tenant_a, bot["id"], content=CONTENT)
    queued = request_ingest(api, tenant_a, source["id"])
    take_queued()
    forged = ingest_message(tenant_b, queued)

    # When the ingest function receives it
    event, _ = event_for(forged)
    response = invoke_ingest(api, event)

    # Then it is acknowledged as a message for a missing source, and A's source is untouched
    assert failed_ids(response) == []
    assert get_source(api, tenant_a, source["id"]) == get_source(api, tenant_a, queued["id"])
    assert get_source(api, tenant_a, source["id"])["status"] == "queued"


def test_ingest_concurrent_invocations_report_their_own_failures(api, tenant_a, bot):
    # Given two invocations in one process: one with a good message, one with a good and a malformed one
    first = make_source(api, tenant_a, bot["id"], content=CONTENT)
    second = make_source(api, tenant_a, bot["id"], content=CONTENT.replace("nine", "ten"))
    request_ingest(api, tenant_a, first["id"])
    request_ingest(api, tenant_a, second["id"])
    first_body, second_body = take_queued()
    good_event, _ = event_for(first_body)
    mixed_event, [_, bad_id] = event_for(second_body, "{not json")
    results: dict[str, dict] = {}
    barrier = threading.Barrier(2)

    def invoke(name: str, event: dict) -> None:
        barrier.wait(timeout=10)
        results[name] = invoke_ingest(api, event)

    # When both run at the same moment
    threads = [threading.Thread(target=invoke, args=("good", good_event)),
               threading.Thread(target=invoke, args=("mixed", mixed_event))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then each answer lists exactly its own failed records, and both sources were ingested
    assert failed_ids(results["good"]) == []
    assert failed_ids(results["mixed"]) == [bad_id]
    for source in (first, second):
        assert_consistent(tenant_a, get_source(api, tenant_a, source["id"]))
