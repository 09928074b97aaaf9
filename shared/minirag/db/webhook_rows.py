"""Webhook queries on one tenant's rows: the subscribers of an event, the delivery log page, and
deleting a webhook with its log. None commits: the caller's unit of work does."""

from __future__ import annotations

import uuid
from typing import NamedTuple

from sqlalchemy import delete, select

from minirag.db.models import Source, SourceStatus, Webhook, WebhookDelivery
from minirag.db.scope import PageResult, TenantScope


def subscribers(scope: TenantScope, event: str) -> list[uuid.UUID]:
    """Active webhooks subscribed to `event` (a tenant has few: the JSON list is filtered here,
    portably across SQLite and PostgreSQL)."""
    return [w.id for w in scope.all(Webhook, active_only=True) if event in (w.events or [])]


def deliveries(scope: TenantScope, webhook_id: uuid.UUID, *, limit: int, cursor: str | None) -> PageResult:
    """The webhook's delivery attempts, newest first (keyset pages over created_at, id)."""
    return scope.page(WebhookDelivery, limit=limit, cursor=cursor, webhook_id=webhook_id)


def delete_webhook(scope: TenantScope, webhook_id: uuid.UUID) -> None:
    """The webhook and its delivery log (explicitly: SQLite enforces no cascade without the pragma)."""
    scope.execute(delete(WebhookDelivery).where(WebhookDelivery.tenant_id == scope.tenant_id,
                                                WebhookDelivery.webhook_id == webhook_id))
    scope.execute(delete(Webhook).where(Webhook.tenant_id == scope.tenant_id, Webhook.id == webhook_id))


class SourceOutcome(NamedTuple):
    status: SourceStatus
    bot_profile_id: uuid.UUID
    chunks_total: int
    last_error: str | None


def source_outcome(scope: TenantScope, source_id: uuid.UUID) -> SourceOutcome | None:
    """What a source event says, read as columns (a Source in the identity map cannot answer stale)."""
    stmt = select(Source.status, Source.bot_profile_id, Source.chunks_total, Source.last_error).where(
        Source.tenant_id == scope.tenant_id, Source.id == source_id)
    row = scope.execute(stmt).first()
    return SourceOutcome(*row) if row is not None else None
