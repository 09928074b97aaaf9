"""Publishing ingest messages. `get_publisher()` picks the backend from settings alone."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from minirag.errors import UpstreamUnavailable
from minirag.queue.messages import IngestMessage
from minirag.settings import Settings, get_settings

if TYPE_CHECKING:
    from minirag.queue.embedded import EmbeddedQueue


class IngestPublisher(Protocol):
    def publish(self, messages: list[IngestMessage]) -> None: ...
    def check(self) -> None:
        """The health check's probe: one cheap call that raises when the queue cannot be reached."""
        ...


class EmbeddedPublisher:
    """Publishes to the embedded durable queue, one message group per tenant (round-robin receives)."""

    def __init__(self, queue: EmbeddedQueue) -> None:
        self._queue = queue

    def publish(self, messages: list[IngestMessage]) -> None:
        try:
            self._queue.send_many([(str(m.tenant_id), m.model_dump_json()) for m in messages])
        except Exception as exc:  # the database refused the write (locked, down): same answer as SQS
            raise UpstreamUnavailable("could not enqueue the ingest request; try again") from exc

    def check(self) -> None:
        """A count of the queue's rows."""
        len(self._queue)


class SqsPublisher:
    """boto3 SQS client; the endpoint comes from AWS_ENDPOINT_URL(_SQS) (moto, LocalStack) or AWS.
    Every message carries MessageGroupId = its tenant: on a standard queue that makes it an SQS fair
    queue, which serves a quiet tenant's messages ahead of a noisy tenant's backlog."""

    def __init__(self, queue_url: str) -> None:
        import boto3

        self._client = boto3.client("sqs")
        self._queue_url = queue_url

    def publish(self, messages: list[IngestMessage]) -> None:
        for start in range(0, len(messages), 10):
            entries = [{"Id": str(i), "MessageBody": m.model_dump_json(), "MessageGroupId": str(m.tenant_id)}
                       for i, m in enumerate(messages[start:start + 10])]
            try:
                response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except Exception as exc:  # botocore raises many types; all mean "queue unavailable"
                raise UpstreamUnavailable("could not enqueue the ingest request; try again") from exc
            if response.get("Failed"):
                raise UpstreamUnavailable("could not enqueue the ingest request; try again")

    def check(self) -> None:
        """One GetQueueAttributes (the queue exists and this role may use it)."""
        self._client.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["ApproximateNumberOfMessages"])


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
    from minirag.queue.embedded import get_embedded_queue

    return EmbeddedPublisher(get_embedded_queue())
