"""The tenant's chats as an operator reviews them: the chat list (newest first, by bot and creation
time), the users' feedback on answers, and the export of messages. No model or vector store: plain
reads and one small write."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from minirag.db import chat_rows
from minirag.db.chat_rows import EXPORT_FIELDS
from minirag.db.models import Chat, Message, MessageFeedback, MessageRole
from minirag.db.scope import PageResult, TenantScope
from minirag.errors import InvalidInput, NotFound
from minirag.services.commands import ExportChats, ListChats, RateMessage

__all__ = ["EXPORT_FIELDS", "EXPORT_PAGE_SIZE", "ChatHistoryService"]

EXPORT_PAGE_SIZE = 500  # messages per keyset page of an export: one page is what a streamed export holds


def _utc(moment: datetime | None) -> datetime | None:
    """Times without an offset are UTC (the API's times all are); others are converted."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


class ChatHistoryService:
    def __init__(self, scope: TenantScope) -> None:
        self._scope = scope

    def list(self, query: ListChats) -> PageResult[Chat]:
        """A foreign or missing bot id simply matches nothing: the filter never says whether it exists."""
        after, before = _utc(query.created_after), _utc(query.created_before)
        if after is not None and before is not None and after > before:
            raise InvalidInput("created_before", "must not be earlier than created_after")
        with self._scope.read():
            return chat_rows.chat_page(self._scope, limit=query.limit, cursor=query.cursor,
                                       bot_profile_id=query.bot_profile_id, created_after=after,
                                       created_before=before)

    def rate(self, command: RateMessage) -> Message:
        """Set (or, with None, clear) the feedback on an answer. A missing or foreign chat, or a
        message of another chat, is the same `message not found`."""
        with self._scope.write():
            message = chat_rows.chat_message(self._scope, command.chat_id, command.message_id)
            if message is None:
                raise NotFound("message")
            if message.role is not MessageRole.assistant:
                raise InvalidInput("feedback", "only assistant messages take feedback")
            message.feedback = MessageFeedback(command.feedback) if command.feedback is not None else None
            message.feedback_comment = command.comment if command.feedback is not None else None
        return message

    # -- export ------------------------------------------------------------------------------------
    def export_rows(self, query: ExportChats, *, page_size: int = EXPORT_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every message the query selects, oldest first, as plain JSON-ready dicts. A generator
        over keyset pages of `page_size`: a page is read (in its own short read transaction, none
        held while the client reads) only when the previous one is consumed, so a streamed export
        of any size holds one page in memory. Call `check_export` first: errors must come before
        the response starts."""
        start, end = _export_range(query)
        after: tuple[datetime, uuid.UUID] | None = None
        while True:
            with self._scope.read():
                rows = chat_rows.export_page(self._scope, after=after, limit=page_size, start=start, end=end,
                                             bot_profile_id=query.bot_profile_id, chat_id=query.chat_id)
            for row in rows:
                yield {k: _plain(v) for k, v in row.items()}
            if len(rows) < page_size:
                return
            after = (rows[-1]["created_at"], rows[-1]["message_id"])

    def check_export(self, query: ExportChats) -> None:
        """422 for a range that makes no sense; 404 for a chat that is missing or another tenant's."""
        _export_range(query)
        if query.chat_id is not None:
            with self._scope.read():
                self._scope.get(Chat, query.chat_id)


def _export_range(query: ExportChats) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the UTC days `start`..`end` (inclusive)."""
    if query.start is not None and query.end is not None and query.start > query.end:
        raise InvalidInput("to", "must not be earlier than from")
    return _midnight(query.start), _midnight(query.end + timedelta(days=1) if query.end else None)


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=timezone.utc) if day is not None else None


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value
