"""The /v1/stats aggregates: SQL GROUP BYs over one tenant's usage events and messages, through the
`TenantScope` they take. Days are UTC: timestamps are stored as naive UTC on both backends (see
`UTCDateTime`), so `date(created_at)` is the UTC day on SQLite and PostgreSQL alike. Windows are
half-open [start, end), so a day ends exactly at the next midnight. The covering index
`ix_usage_event_stats` makes each aggregate an index range scan (bench/stats_query.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select

from minirag.db.models import BotProfile, Chat, Message, MessageFeedback, MessageRole, Source, UsageEvent
from minirag.db.scope import TenantScope


@dataclass(frozen=True)
class UsageRow:
    key: tuple[Any, ...]  # (day,), (model,) or (bot_profile_id, model)
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class FeedbackRow:
    day: date | None
    answers: int
    positive: int
    negative: int


def _day(column: Any) -> Any:
    return func.date(column)


def _as_date(value: Any) -> date:
    """SQLite's date() answers 'YYYY-MM-DD', PostgreSQL's a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _usage(scope: TenantScope, keys: list[Any], *, start: datetime | None, end: datetime | None,
           bot_profile_id: uuid.UUID | None) -> list[UsageRow]:
    stmt = select(*keys, func.count(), func.coalesce(func.sum(UsageEvent.prompt_tokens), 0),
                  func.coalesce(func.sum(UsageEvent.completion_tokens), 0),
                  func.coalesce(func.sum(UsageEvent.total_tokens), 0)).where(UsageEvent.tenant_id == scope.tenant_id)
    if start is not None:
        stmt = stmt.where(UsageEvent.created_at >= start)
    if end is not None:
        stmt = stmt.where(UsageEvent.created_at < end)
    if bot_profile_id is not None:
        stmt = stmt.where(UsageEvent.bot_profile_id == bot_profile_id)
    if keys:
        stmt = stmt.group_by(*keys)
    rows = scope.execute(stmt).all()
    n = len(keys)
    return [UsageRow(tuple(row[:n]), int(row[n]), int(row[n + 1]), int(row[n + 2]), int(row[n + 3])) for row in rows]


def usage_by_day(scope: TenantScope, *, start: datetime, end: datetime,
                 bot_profile_id: uuid.UUID | None) -> dict[date, UsageRow]:
    rows = _usage(scope, [_day(UsageEvent.created_at)], start=start, end=end, bot_profile_id=bot_profile_id)
    return {_as_date(r.key[0]): r for r in rows}


def usage_by_model(scope: TenantScope, *, start: datetime, end: datetime,
                   bot_profile_id: uuid.UUID | None) -> list[UsageRow]:
    return _usage(scope, [UsageEvent.model], start=start, end=end, bot_profile_id=bot_profile_id)


def usage_by_bot_and_model(scope: TenantScope, *, start: datetime, end: datetime,
                           bot_profile_id: uuid.UUID | None) -> list[UsageRow]:
    return _usage(scope, [UsageEvent.bot_profile_id, UsageEvent.model], start=start, end=end,
                  bot_profile_id=bot_profile_id)


def usage_totals(scope: TenantScope) -> UsageRow:
    rows = _usage(scope, [], start=None, end=None, bot_profile_id=None)
    return rows[0] if rows else UsageRow((), 0, 0, 0, 0)


def active_days(scope: TenantScope, *, start: datetime, end: datetime, bot_profile_id: uuid.UUID | None) -> int:
    return len(usage_by_day(scope, start=start, end=end, bot_profile_id=bot_profile_id))


def used_models(scope: TenantScope) -> list[str]:
    """Every model the tenant's usage events name, and its active bots' chat and embedding models."""
    events = scope.execute(select(UsageEvent.model).where(UsageEvent.tenant_id == scope.tenant_id)
                           .distinct()).scalars().all()
    bots = scope.execute(select(BotProfile.model, BotProfile.embedding_model)
                         .where(BotProfile.tenant_id == scope.tenant_id, BotProfile.is_active.is_(True))).all()
    return sorted({*events, *(m for row in bots for m in row if m)})


def bot_names(scope: TenantScope, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = scope.execute(select(BotProfile.id, BotProfile.name)
                         .where(BotProfile.tenant_id == scope.tenant_id, BotProfile.id.in_(ids))).all()
    return {row[0]: row[1] for row in rows}


def counts(scope: TenantScope) -> dict[str, int]:
    """Active bots and sources (deactivated ones are out of every list too), all chats and messages."""
    return {
        "bots": scope.count(BotProfile, BotProfile.is_active.is_(True)),
        "sources": scope.count(Source, Source.is_active.is_(True)),
        "chats": scope.count(Chat),
        "messages": scope.count(Message),
    }


def feedback(scope: TenantScope, *, start: datetime, end: datetime, bot_profile_id: uuid.UUID | None,
             by_day: bool) -> list[FeedbackRow]:
    """Assistant answers given in the window (by the answer's UTC day), and how many were rated
    positive and negative."""
    day = _day(Message.created_at)
    stmt = select(*([day] if by_day else []), func.count(),
                  func.coalesce(func.sum(case((Message.feedback == MessageFeedback.positive, 1), else_=0)), 0),
                  func.coalesce(func.sum(case((Message.feedback == MessageFeedback.negative, 1), else_=0)), 0),
                  ).where(Message.tenant_id == scope.tenant_id, Message.role == MessageRole.assistant,
                          Message.created_at >= start, Message.created_at < end)
    if bot_profile_id is not None:
        stmt = stmt.join(Chat, (Chat.tenant_id == Message.tenant_id) & (Chat.id == Message.chat_id)).where(
            Chat.bot_profile_id == bot_profile_id)
    if by_day:
        stmt = stmt.group_by(day)
    out = []
    for row in scope.execute(stmt).all():
        values = list(row)
        when = _as_date(values.pop(0)) if by_day else None
        out.append(FeedbackRow(when, int(values[0]), int(values[1]), int(values[2])))
    return out
