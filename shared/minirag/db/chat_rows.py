"""The chat queries that are more than a filtered select: a chat's recent history and the SQL
increment of its counters. Tenant-bound through the `TenantScope` they take."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, update

from minirag.db.base import utcnow
from minirag.db.models import Chat, Message
from minirag.db.scope import TenantScope


def recent_messages(scope: TenantScope, chat_id: uuid.UUID, *, limit: int) -> list[Message]:
    """The chat's last `limit` messages without an error, oldest first (the prompt's history)."""
    stmt = (scope.where(Message, chat_id=chat_id).where(Message.error.is_(None))
            .order_by(Message.created_at.desc(), Message.id.desc()).limit(limit))
    return list(reversed(scope.scalars(stmt)))


def bump_counters(scope: TenantScope, chat_id: uuid.UUID, *, messages: int, prompt_tokens: int,
                  completion_tokens: int, cost: float | None) -> None:
    """Add a turn to the chat's counters as SQL increments, so concurrent turns lose no update."""
    values: dict[str, Any] = {
        "message_count": Chat.message_count + messages,
        "prompt_tokens": Chat.prompt_tokens + prompt_tokens,
        "completion_tokens": Chat.completion_tokens + completion_tokens,
        "total_tokens": Chat.total_tokens + prompt_tokens + completion_tokens,
        "updated_at": utcnow(),
    }
    if cost is not None:
        values["cost"] = func.coalesce(Chat.cost, 0.0) + cost
    scope.execute(update(Chat).where(Chat.tenant_id == scope.tenant_id, Chat.id == chat_id)
                  .values(**values).execution_options(synchronize_session=False))
