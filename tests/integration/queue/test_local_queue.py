"""The local runner's delivery from the in-process queue (embedded default): records are settled the
way SQS settles them (acknowledged ones deleted, failed ones back with their receive count, a
dead-letter list after INGEST_MAX_RECEIVE_COUNT receives), and no message is lost whatever the
handler does."""

from __future__ import annotations

import json

import pytest

from minirag.local.queue import IngestWorker, MemorySource
from minirag.queue.publisher import InMemoryQueue


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


def _worker(handler, max_receive_count: int = 3, batch_size: int = 10) -> tuple[IngestWorker, InMemoryQueue]:
    queue = InMemoryQueue()
    return IngestWorker(handler, MemorySource(queue, max_receive_count), batch_size=batch_size), queue


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
