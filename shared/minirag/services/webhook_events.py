"""Emitting webhook events from chat and ingest: after their commit, one small read (who is
subscribed) and, only if someone is, one queue publish. Never an HTTP call here, and never an
error for the caller: a lost event is logged, the answer or the ingest stands. (An event is lost
only if the process dies between the commit and the publish, or the queue refuses it.)"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from minirag.db import webhook_rows
from minirag.db.base import utcnow
from minirag.db.models import SourceStatus
from minirag.db.scope import TenantScope
from minirag.observability import logger
from minirag.queue.webhooks import WebhookMessage, WebhookPublisher

SOURCE_INGESTED = "source.ingested"
SOURCE_FAILED = "source.failed"
CHAT_MESSAGE = "chat.message"
EVENTS = (SOURCE_INGESTED, SOURCE_FAILED, CHAT_MESSAGE)
PING = "ping"


def new_event_id() -> str:
    """The Standard Webhooks `webhook-id`: the same on every retry of one event to one webhook."""
    return f"msg_{secrets.token_urlsafe(18)}"


def message_for(tenant_id: uuid.UUID, webhook_id: uuid.UUID, event: str, data: dict[str, Any]) -> WebhookMessage:
    return WebhookMessage(tenant_id=tenant_id, webhook_id=webhook_id, event_id=new_event_id(), type=event,
                          timestamp=utcnow(), data=data)


class WebhookEvents:
    def __init__(self, publisher: WebhookPublisher) -> None:
        self._publisher = publisher

    def source_finished(self, scope: TenantScope, source_id: uuid.UUID) -> None:
        """`source.ingested` or `source.failed`, as the source row now says (after its commit)."""
        try:
            with scope.read():
                outcome = webhook_rows.source_outcome(scope, source_id)
            if outcome is None or outcome.status not in (SourceStatus.ready, SourceStatus.failed):
                return
            ready = outcome.status is SourceStatus.ready
            self._emit(scope, SOURCE_INGESTED if ready else SOURCE_FAILED, {
                "source_id": str(source_id), "bot_profile_id": str(outcome.bot_profile_id),
                "status": "ready" if ready else "error", "chunk_count": outcome.chunks_total if ready else 0,
                "error": None if ready else outcome.last_error,
            })
        except Exception:  # never fail an ingest for a webhook
            logger.warning("could not emit the source webhook event", extra={"source_id": str(source_id)},
                           exc_info=True)

    def chat_message(self, scope: TenantScope, *, chat_id: uuid.UUID, message_id: uuid.UUID,
                     bot_profile_id: uuid.UUID) -> None:
        """`chat.message`: ids only, never the content (receivers read it with their own token)."""
        try:
            self._emit(scope, CHAT_MESSAGE, {"chat_id": str(chat_id), "message_id": str(message_id),
                                             "bot_profile_id": str(bot_profile_id)})
        except Exception:  # never fail a chat turn for a webhook
            logger.warning("could not emit the chat webhook event", extra={"chat_id": str(chat_id)}, exc_info=True)

    def _emit(self, scope: TenantScope, event: str, data: dict[str, Any]) -> None:
        with scope.read():
            webhook_ids = webhook_rows.subscribers(scope, event)
        if webhook_ids:
            self._publisher.publish([message_for(scope.tenant_id, w, event, data) for w in webhook_ids])
