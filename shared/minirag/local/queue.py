"""Delivers ingest messages to the real ingest handler as SQS events, the way Lambda's SQS event
source mapping does: batches, `batchItemFailures` honoured (failed records come back, the rest are
deleted), and after `max_receive_count` receives a record goes to the dead-letter queue.

Two sources, chosen by settings: the embedded durable queue (a table in the app database, the
default) and a real SQS queue over the wire (moto, LocalStack, AWS), long-polled with boto3."""

from __future__ import annotations

import threading
from typing import Any, Callable, Protocol

from minirag.local.events import LambdaContext, SqsRecordInput, sqs_event
from minirag.observability import logger

Handler = Callable[[dict[str, Any], Any], Any]


class _Source(Protocol):
    def receive(self, max_messages: int, wait_seconds: float) -> list[SqsRecordInput]: ...
    def settle(self, records: list[SqsRecordInput], failed_ids: set[str]) -> None: ...


class _Queue(Protocol):
    """The embedded durable queue (minirag.queue.embedded.EmbeddedQueue), as the worker uses it."""

    def receive(self, max_messages: int = 10, wait_seconds: float = 0.0) -> list[Any]: ...
    def delete(self, messages: list[Any]) -> None: ...
    def extend(self, messages: list[Any]) -> None: ...
    def release(self, messages: list[Any], delay_seconds: float = 0.0) -> None: ...
    def dead_letter(self, messages: list[Any]) -> None: ...


class EmbeddedSource:
    """The embedded durable queue. Acknowledged records are deleted; failed ones are visible again
    after `retry_delay_seconds` x their receive count, or move to the dead-letter queue on their
    `max_receive_count`-th receive (SQS's redrive policy). While the handler runs the worker
    heartbeats (`extend`); a delivery that never settles (the process died) comes back when its
    lease lapses, and `release_inflight` (Ctrl-C) hands it back at once."""

    heartbeat_seconds = 5.0

    def __init__(self, queue: _Queue, max_receive_count: int, retry_delay_seconds: float = 0.0) -> None:
        self.queue = queue
        self.max_receive_count = max_receive_count
        self.retry_delay_seconds = retry_delay_seconds
        self._inflight: dict[str, Any] = {}
        self._lock = threading.Lock()

    def receive(self, max_messages: int, wait_seconds: float) -> list[SqsRecordInput]:
        messages = self.queue.receive(max_messages, wait_seconds)
        with self._lock:
            for m in messages:
                self._inflight[m.message_id] = m
        return [SqsRecordInput(m.body, m.message_id, m.receive_count, m.receipt) for m in messages]

    def heartbeat(self, records: list[SqsRecordInput]) -> None:
        self.queue.extend(self._held(records))

    def _held(self, records: list[SqsRecordInput]) -> list[Any]:
        with self._lock:
            return [self._inflight[r.message_id] for r in records if r.message_id in self._inflight]

    def settle(self, records: list[SqsRecordInput], failed_ids: set[str]) -> None:
        held = self._held(records)
        done = [m for m in held if m.message_id not in failed_ids]
        failed = [m for m in held if m.message_id in failed_ids]
        dead = [m for m in failed if m.receive_count >= self.max_receive_count]
        retry = [m for m in failed if m.receive_count < self.max_receive_count]
        self.queue.delete(done)
        for message in retry:
            self.queue.release([message], delay_seconds=self.retry_delay_seconds * message.receive_count)
        if dead:
            self.queue.dead_letter(dead)
            for message in dead:
                logger.error("ingest message moved to the dead-letter queue",
                             extra={"message_id": message.message_id, "receive_count": message.receive_count,
                                    "body": message.body})
        with self._lock:
            for m in held:
                self._inflight.pop(m.message_id, None)

    def release_inflight(self) -> int:
        """Hand every message this worker still holds back to the queue (visible at once)."""
        with self._lock:
            held = list(self._inflight.values())
            self._inflight.clear()
        if held:
            self.queue.release(held)
        return len(held)


class SqsSource:
    """A real SQS queue. Failed records are made visible again after a short back-off (instead of
    the full visibility timeout) so local retries are quick: `retry_delay_seconds` × the receive
    count (0: at once). SQS's redrive policy moves them to the DLQ."""

    def __init__(self, queue_url: str, retry_delay_seconds: int = 1) -> None:
        import boto3

        self._client = boto3.client("sqs")
        self._queue_url = queue_url
        self._retry_delay = retry_delay_seconds

    def receive(self, max_messages: int, wait_seconds: float) -> list[SqsRecordInput]:
        response = self._client.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=min(max_messages, 10),
            WaitTimeSeconds=int(wait_seconds), MessageSystemAttributeNames=["All"],
        )
        return [
            SqsRecordInput(m["Body"], m["MessageId"], int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
                           m["ReceiptHandle"])
            for m in response.get("Messages", [])
        ]

    def settle(self, records: list[SqsRecordInput], failed_ids: set[str]) -> None:
        done = [r for r in records if r.message_id not in failed_ids]
        for start in range(0, len(done), 10):
            entries = [{"Id": str(i), "ReceiptHandle": r.receipt_handle} for i, r in enumerate(done[start:start + 10])]
            self._client.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
        for r in records:
            if r.message_id in failed_ids:
                self._client.change_message_visibility(QueueUrl=self._queue_url, ReceiptHandle=r.receipt_handle,
                                                       VisibilityTimeout=self._retry_delay * r.receive_count)


class IngestWorker:
    def __init__(self, handler: Handler, source: _Source, *, batch_size: int = 4,
                 function_name: str = "IngestFunction", timeout_seconds: float = 120) -> None:
        self.handler = handler
        self.source = source
        self.batch_size = batch_size
        self.function_name = function_name
        self.timeout_seconds = timeout_seconds
        self._stop = threading.Event()
        self._abandoned = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, wait_seconds: float = 0.0) -> int:
        """Receive one batch, invoke the handler, settle the records; returns how many were received."""
        records = self.source.receive(self.batch_size, wait_seconds)
        if not records:
            return 0
        # Until the handler answers, every record counts as failed: whatever happens (an invocation
        # error, a malformed response, even KeyboardInterrupt) the records are settled, so none is
        # lost from the in-process queue (SQS would make them visible again after the timeout).
        failed = {r.message_id for r in records}
        beat = self._heartbeat(records)
        try:
            event = sqs_event(records)
            context = LambdaContext(function_name=self.function_name, timeout_seconds=self.timeout_seconds)
            response = self.handler(event, context) or {}
            failed = {str(f["itemIdentifier"]) for f in response.get("batchItemFailures", [])}
        except Exception:
            # An invocation error fails the whole batch, as with Lambda.
            logger.exception("ingest handler invocation failed")
            failed = {r.message_id for r in records}
        finally:
            beat.set()
            if not self._abandoned.is_set():  # after stop(): the records are handed back instead
                self.source.settle(records, failed)
        return len(records)

    def _heartbeat(self, records: list[SqsRecordInput]) -> threading.Event:
        """Extend the records' lease while the handler runs (sources that hold leases only)."""
        done = threading.Event()
        beat = getattr(self.source, "heartbeat", None)
        if beat is None:
            return done

        def loop() -> None:
            while not done.wait(getattr(self.source, "heartbeat_seconds", 5.0)):
                try:
                    beat(records)
                except Exception:  # a missed beat only risks a redelivery (idempotent)
                    logger.warning("could not extend the lease of in-flight ingest messages", exc_info=True)

        threading.Thread(target=loop, name="minirag-ingest-heartbeat", daemon=True).start()
        return done

    def drain(self, max_batches: int = 10_000) -> int:
        """Process until the queue is empty (tests, CLI); returns records processed."""
        total = 0
        for _ in range(max_batches):
            received = self.run_once()
            if not received:
                break
            total += received
        return total

    def start(self, poll_seconds: float = 1.0) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.run_once(wait_seconds=poll_seconds)
                except Exception:  # keep the dev server alive; the error is in the log
                    logger.exception("ingest worker loop error")
                    self._stop.wait(poll_seconds)

        self._thread = threading.Thread(target=loop, name="minirag-ingest-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        """Ask the loop to end after its current batch and wait up to `timeout` seconds for it. A
        batch still running then is abandoned: its messages go back to the queue unacknowledged
        (at once where the source can hand them back, else when their visibility lapses)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            if self._thread.is_alive():
                self._abandoned.set()
                release = getattr(self.source, "release_inflight", None)
                if release is not None:
                    try:
                        release()
                    except Exception:  # the lease lapses anyway: redelivered after a restart
                        logger.warning("could not hand in-flight ingest messages back", exc_info=True)
