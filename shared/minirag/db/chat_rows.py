"""The chat queries that are more than a filtered select: a chat's recent history and the SQL
increment of its counters. Tenant-bound through the `TenantScope` they take."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from minirag.db.base import utcnow
from minirag.db.models import Chat, Message
from minirag.db.scope import PageResult, TenantScope


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


def chat_page(scope: TenantScope, *, limit: int, cursor: str | None, bot_profile_id: uuid.UUID | None,
              created_after: datetime | None, created_before: datetime | None) -> PageResult[Chat]:
    """The tenant's chats, newest first, created in [created_after, created_before) (half-open,
    so consecutive ranges tile) and, given a bot, only that bot's."""
    criteria: list[Any] = []
    if bot_profile_id is not None:
        criteria.append(Chat.bot_profile_id == bot_profile_id)
    if created_after is not None:
        criteria.append(Chat.created_at >= created_after)
    if created_before is not None:
        criteria.append(Chat.created_at < created_before)
    return scope.page(Chat, limit=limit, cursor=cursor, criteria=criteria)


def chat_message(scope: TenantScope, chat_id: uuid.UUID, message_id: uuid.UUID) -> Message | None:
    """One message of one chat (both the tenant's), or None: a message is only ever reached through its chat."""
    rows = scope.scalars(scope.where(Message, id=message_id, chat_id=chat_id))
    return rows[0] if rows else None


EXPORT_COLUMNS = (Message.chat_id, Chat.title, Chat.bot_profile_id, Message.id, Message.role, Message.content,
                  Message.model, Message.prompt_tokens, Message.completion_tokens, Message.feedback,
                  Message.feedback_comment, Message.error, Message.created_at)
EXPORT_FIELDS = ("chat_id", "chat_title", "bot_profile_id", "message_id", "role", "content", "model",
                 "prompt_tokens", "completion_tokens", "feedback", "feedback_comment", "error", "created_at")


def export_page(scope: TenantScope, *, after: tuple[datetime, uuid.UUID] | None, limit: int,
                start: datetime | None, end: datetime | None, bot_profile_id: uuid.UUID | None,
                chat_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """One keyset page of the export: messages (with their chat's title and bot) oldest first by
    (created_at, id), after `after`, created in [start, end). Plain columns, no ORM objects, so a
    page is all that is in memory."""
    stmt = (select(*EXPORT_COLUMNS)
            .join(Chat, (Chat.tenant_id == Message.tenant_id) & (Chat.id == Message.chat_id))
            .where(Message.tenant_id == scope.tenant_id))
    if after is not None:
        at, row_id = after
        stmt = stmt.where(or_(Message.created_at > at, and_(Message.created_at == at, Message.id > row_id)))
    if start is not None:
        stmt = stmt.where(Message.created_at >= start)
    if end is not None:
        stmt = stmt.where(Message.created_at < end)
    if bot_profile_id is not None:
        stmt = stmt.where(Chat.bot_profile_id == bot_profile_id)
    if chat_id is not None:
        stmt = stmt.where(Message.chat_id == chat_id)
    rows = scope.execute(stmt.order_by(Message.created_at.asc(), Message.id.asc()).limit(limit)).all()
    return [dict(zip(EXPORT_FIELDS, row, strict=True)) for row in rows]
