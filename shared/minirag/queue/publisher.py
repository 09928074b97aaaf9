"""Publishing ingest messages. `get_publisher()` picks the backend from settings alone."""

from __future__ import annotations

import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from minirag.errors import UpstreamUnavailable
from minirag.queue.messages import IngestMessage
from minirag.settings import Settings, get_settings


class IngestPublisher(Protocol):
    def publish(self, messages: list[IngestMessage]) -> None: ...


@dataclass
class QueuedMessage:
    """An SQS-shaped message in the in-process queue."""

    body: str
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    receive_count: int = 0


class InMemoryQueue:
    """Process-wide FIFO for the embedded default. The local runner drains it by calling the real
    ingest handler with SQS events, re-queues records listed in `batchItemFailures` and moves a
    record to `dead_letters` after `max_receive_count` receives, as SQS with a redrive policy does."""

    def __init__(self) -> None:
        self._items: deque[QueuedMessage] = deque()
        self._lock = threading.Condition()
        self.dead_letters: list[QueuedMessage] = []

    def send(self, body: str) -> None:
        with self._lock:
            self._items.append(QueuedMessage(body))
            self._lock.notify_all()

    def requeue(self, message: QueuedMessage) -> None:
        with self._lock:
            self._items.append(message)
            self._lock.notify_all()

    def receive(self, max_messages: int = 10, wait_seconds: float = 0.0) -> list[QueuedMessage]:
        with self._lock:
            if not self._items and wait_seconds > 0:
                self._lock.wait(wait_seconds)
            batch = []
            while self._items and len(batch) < max_messages:
                message = self._items.popleft()
                message.receive_count += 1
                batch.append(message)
            return batch

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.dead_letters.clear()


@lru_cache(maxsize=1)
def get_memory_queue() -> InMemoryQueue:
    return InMemoryQueue()


class MemoryPublisher:
    def __init__(self, queue: InMemoryQueue) -> None:
        self._queue = queue

    def publish(self, messages: list[IngestMessage]) -> None:
        for message in messages:
            self._queue.send(message.model_dump_json())


class SqsPublisher:
    """boto3 SQS client; the endpoint comes from AWS_ENDPOINT_URL(_SQS) (moto, LocalStack) or AWS."""

    def __init__(self, queue_url: str) -> None:
        import boto3

        self._client = boto3.client("sqs")
        self._queue_url = queue_url

    def publish(self, messages: list[IngestMessage]) -> None:
        for start in range(0, len(messages), 10):
            entries = [{"Id": str(i), "MessageBody": m.model_dump_json()}
                       for i, m in enumerate(messages[start:start + 10])]
            try:
                response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except Exception as exc:  # botocore raises many types; all mean "queue unavailable"
                raise UpstreamUnavailable("could not enqueue the ingest request; try again") from exc
            if response.get("Failed"):
                raise UpstreamUnavailable("could not enqueue the ingest request; try again")


def resolve_queue_url(settings: Settings) -> str:
    if settings.ingest_queue_url:
        return settings.ingest_queue_url
    import boto3

    return boto3.client("sqs").get_queue_url(QueueName=settings.ingest_queue_name)["QueueUrl"]


@lru_cache(maxsize=1)
def get_publisher() -> IngestPublisher:
    settings = get_settings()
    if settings.queue_backend == "sqs":
        return SqsPublisher(resolve_queue_url(settings))
    return MemoryPublisher(get_memory_queue())
