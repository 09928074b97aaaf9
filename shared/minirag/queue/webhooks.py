"""Webhook events on their own queue: one message per (event, subscribed webhook), so each target
is retried and dead-lettered on its own. SQS (WEBHOOK_QUEUE_URL, or looked up by WEBHOOK_QUEUE_NAME)
or the embedded durable queue under the names below, drained by the local runner like ingest."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from minirag.errors import UpstreamUnavailable
from minirag.settings import get_settings

WEBHOOK_QUEUE = "webhooks"
WEBHOOK_DEAD_LETTER_QUEUE = "webhooks-dlq"


class WebhookMessage(BaseModel):
    """The event as it will be POSTed (`type`, `timestamp`, `data`: the Standard Webhooks payload)
    and where. No secret: the function reads it from the tenant-scoped webhook row."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=1, max_length=64)
    timestamp: datetime
    data: dict[str, Any]


class WebhookPublisher(Protocol):
    def publish(self, messages: list[WebhookMessage]) -> None: ...


class EmbeddedWebhookPublisher:
    def publish(self, messages: list[WebhookMessage]) -> None:
        from minirag.queue.embedded import EmbeddedQueue

        try:
            EmbeddedQueue(WEBHOOK_QUEUE, WEBHOOK_DEAD_LETTER_QUEUE).send_many(
                [(str(m.tenant_id), m.model_dump_json()) for m in messages])
        except Exception as exc:  # the database refused the write: same answer as SQS
            raise UpstreamUnavailable("could not enqueue the webhook event; try again") from exc


class SqsWebhookPublisher:
    """The queue URL is resolved at the first publish, not at construction: a function that builds
    a publisher (every ingest) must not fail, or call SQS, when no event is ever emitted."""

    def __init__(self, queue_url: str | None = None) -> None:
        import boto3

        self._client = boto3.client("sqs")
        self._queue_url = queue_url

    def publish(self, messages: list[WebhookMessage]) -> None:
        if self._queue_url is None:
            try:
                self._queue_url = webhook_queue_url()
            except Exception as exc:  # the queue is missing or SQS unreachable
                raise UpstreamUnavailable("could not enqueue the webhook event; try again") from exc
        for start in range(0, len(messages), 10):
            entries = [{"Id": str(i), "MessageBody": m.model_dump_json(), "MessageGroupId": str(m.tenant_id)}
                       for i, m in enumerate(messages[start:start + 10])]
            try:
                response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except Exception as exc:  # botocore raises many types; all mean "queue unavailable"
                raise UpstreamUnavailable("could not enqueue the webhook event; try again") from exc
            if response.get("Failed"):
                raise UpstreamUnavailable("could not enqueue the webhook event; try again")


def webhook_queue_url() -> str:
    settings = get_settings()
    if settings.webhook_queue_url:
        return settings.webhook_queue_url
    import boto3

    return boto3.client("sqs").get_queue_url(QueueName=settings.webhook_queue_name)["QueueUrl"]


@lru_cache(maxsize=1)
def get_webhook_publisher() -> WebhookPublisher:
    if get_settings().queue_backend == "sqs":
        return SqsWebhookPublisher()
    return EmbeddedWebhookPublisher()


def retry_delay_seconds(attempt: int) -> int:
    """Exponential back-off after the `attempt`-th failure: base x 2^(attempt-1), at most 12 hours
    (SQS's visibility limit)."""
    return min(get_settings().webhook_retry_delay_seconds * 2 ** max(0, attempt - 1), 43_200)


def delay_retry(receipt_handle: str, attempt: int) -> None:
    """On SQS, hold a failed event back for its back-off (instead of the queue's visibility
    timeout). The embedded queue's worker applies its own back-off when it settles the record."""
    if get_settings().queue_backend != "sqs" or not receipt_handle:
        return
    try:
        import boto3

        boto3.client("sqs").change_message_visibility(QueueUrl=webhook_queue_url(), ReceiptHandle=receipt_handle,
                                                      VisibilityTimeout=retry_delay_seconds(attempt))
    except Exception:  # the queue's own visibility timeout applies instead
        from minirag.observability import logger

        logger.warning("could not set the webhook retry back-off", exc_info=True)
