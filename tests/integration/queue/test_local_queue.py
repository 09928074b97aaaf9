"""The local runner's delivery from the embedded durable queue (the default): records are settled the
way SQS settles them (acknowledged ones deleted, failed ones back with their receive count, a
dead-letter queue after INGEST_MAX_RECEIVE_COUNT receives), no message is lost whatever the handler
does, and receives take turns between tenants (message groups)."""

from __future__ import annotations

import json

import pytest

from minirag.local.queue import EmbeddedSource, IngestWorker
from minirag.queue.embedded import EmbeddedQueue


class RecordingHandler:
    """Answers like the ingest function; `fail` decides which bodies are reported as failed, and
    `raises` makes the whole invocation raise instead."""

    def __init__(self, fail=lambda body: False, raises: BaseException | None = None) -> None:
        self.fail = fail
        self.raises = raises
        self.seen: list[tuple[str, int]] = []

    def __call__(self, event, context):
        for record in event["Records"]:
            self.seen.append((record["body"], int(record["attributes"]["ApproximateReceiveCount"])))
        if self.raises is not None:
            raise self.raises
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]
                                      if self.fail(r["body"])]}


def _worker(handler, max_receive_count: int = 3, batch_size: int = 10) -> tuple[IngestWorker, EmbeddedQueue]:
    queue = EmbeddedQueue()
    return IngestWorker(handler, EmbeddedSource(queue, max_receive_count), batch_size=batch_size), queue


def test_drain_deletes_acknowledged_and_retries_failed_records():
    # Given three messages, one of which the handler always reports as failed
    handler = RecordingHandler(fail=lambda body: body == "bad")
    worker, queue = _worker(handler)
    for body in ("a", "bad", "b"):
        queue.send(body)

    # When the queue is drained
    processed = worker.drain()

    # Then the good ones were delivered once, the bad one 3 times, then dead-lettered
    assert processed == 5
    assert sorted(handler.seen) == [("a", 1), ("b", 1), ("bad", 1), ("bad", 2), ("bad", 3)]
    assert len(queue) == 0
    assert [(m.body, m.receive_count) for m in queue.dead_letters] == [("bad", 3)]


def test_invocation_error_fails_whole_batch_without_losing_messages():
    # Given a handler whose invocation raises (as a crashed Lambda would)
    handler = RecordingHandler(raises=RuntimeError("boom"))
    worker, queue = _worker(handler, max_receive_count=2)
    queue.send("x")
    queue.send("y")

    # When one batch is run
    assert worker.run_once() == 2

    # Then both records are back in the queue with their receive count
    assert len(queue) == 2
    # And after the last receive both are dead-lettered, none lost
    worker.drain()
    assert sorted((m.body, m.receive_count) for m in queue.dead_letters) == [("x", 2), ("y", 2)]


@pytest.mark.parametrize("interruption", [KeyboardInterrupt(), SystemExit(1)])
def test_interrupted_invocation_puts_records_back(interruption):
    # Given a handler interrupted mid-invocation (Ctrl-C on `make dev`)
    worker, queue = _worker(RecordingHandler(raises=interruption))
    queue.send(json.dumps({"n": 1}))

    # When a batch is run, the interruption propagates
    with pytest.raises(type(interruption)):
        worker.run_once()

    # Then the message is not lost: it is back on the queue, counted as received once
    [message] = queue.receive(10)
    assert (message.body, message.receive_count) == (json.dumps({"n": 1}), 2)


def test_malformed_handler_answer_counts_as_failure():
    # Given a handler that answers something that is not a batch response
    worker, queue = _worker(lambda event, context: {"batchItemFailures": [{"wrong": "shape"}]}, max_receive_count=1)
    queue.send("z")

    # When a batch is run
    worker.run_once()

    # Then the record is treated as failed (dead-lettered at max receives), not silently deleted
    assert [m.body for m in queue.dead_letters] == ["z"]


def test_receives_take_turns_between_tenants():
    # Given tenant A's backlog of five messages, then tenant B's one message
    queue = EmbeddedQueue()
    for n in range(5):
        queue.send(f"a{n}", group_id="tenant-a")
    queue.send("b0", group_id="tenant-b")

    # When the worker receives a batch of two, then the rest
    first = [m.body for m in queue.receive(2)]
    rest = [m.body for m in queue.receive(10)]

    # Then B's message is in the first batch (not behind A's backlog), and A's keep their order
    assert first == ["a0", "b0"]
    assert rest == ["a1", "a2", "a3", "a4"]


def test_messages_survive_a_new_process_and_an_unsettled_delivery_comes_back():
    # Given a message received by a worker that then died without settling it (kill -9): its lease lapses
    EmbeddedQueue().send("accepted work", group_id="tenant-a")
    [held] = EmbeddedQueue().receive(10, lease_seconds=0)
    assert held.receive_count == 1

    # When a new worker (a restarted runner: a fresh queue object on the same database) drains the queue
    handler = RecordingHandler()
    worker = IngestWorker(handler, EmbeddedSource(EmbeddedQueue(), max_receive_count=3))
    worker.drain()

    # Then the message was delivered again, as its second receive, and is gone once acknowledged
    assert handler.seen == [("accepted work", 2)]
    assert len(EmbeddedQueue()) == 0 and EmbeddedQueue().dead_letters == []


def test_a_held_message_is_not_delivered_twice_while_its_lease_runs():
    # Given a message one worker holds
    queue = EmbeddedQueue()
    queue.send("one", group_id="t")
    [held] = queue.receive(10)

    # When another receive comes while the lease runs, then the holder's delivery is acknowledged
    assert queue.receive(10) == []
    queue.delete([held])

    # Then it is gone for good
    assert len(queue) == 0 and queue.receive(10) == []


def test_stopping_a_busy_worker_hands_its_messages_back():
    # Given a worker stuck in a long handler (an embedding batch when Ctrl-C comes)
    import threading

    release = threading.Event()
    started = threading.Event()

    def slow(event, context):
        started.set()
        release.wait(10)
        return {"batchItemFailures": []}

    queue = EmbeddedQueue()
    queue.send("long", group_id="t")
    worker = IngestWorker(slow, EmbeddedSource(queue, max_receive_count=3))
    worker.start(poll_seconds=0.05)
    assert started.wait(10)

    # When the runner stops it without waiting for the batch
    worker.stop(timeout=0.1)

    # Then the message is visible again at once (not acknowledged, not lost), counted as received once
    [back] = queue.receive(10)
    assert (back.body, back.receive_count) == ("long", 2)
    release.set()
