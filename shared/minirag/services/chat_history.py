"""The tenant's chats as an operator reviews them: the chat list (newest first, by bot and creation
time) and the users' feedback on answers. No model or vector store: plain reads and one small write."""

from __future__ import annotations

from datetime import datetime, timezone

from minirag.db import chat_rows
from minirag.db.models import Chat, Message, MessageFeedback, MessageRole
from minirag.db.scope import PageResult, TenantScope
from minirag.errors import InvalidInput, NotFound
from minirag.services.commands import ListChats, RateMessage


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
