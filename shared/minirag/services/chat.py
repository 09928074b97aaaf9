"""The chat orchestrator: follow-up rewrite → hybrid retrieval → prompt within budget → LiteLLM
answer with numbered citations → one transaction that stores the turn, its usage and counters.

- With history, the message is first rewritten into a standalone query (an LLM call, skipped on
  the first turn); retrieval uses the rewrite, the answer call sees the original message.
- With nothing relevant retrieved, the bot answers its `no_answer_text` without calling the model.
- A failure after validation (model provider, embedding, vector store) becomes its error (502 for
  a provider); the user's message is still stored (with the chat, flagged with the error code),
  and any usage already spent (a rewrite) is recorded, so nothing the user sent is lost.

Transactions: a turn reads the bot, the chat and its history, then ends that read transaction;
no transaction is open while the model, the embedder or the vector store work (on SQLite every
transaction takes the write lock, so one held across a model call would stall every writer).
The turn is then written in one transaction: chat, both messages, usage events and the chat's
counters (SQL increments, so concurrent turns in one chat cannot lose an update).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterator

from sqlalchemy import func, update

from minirag.db.base import utcnow
from minirag.db.models import BotProfile, Chat, Message, MessageRole, UsageEvent, UsageKind
from minirag.db.scope import PageResult, TenantScope
from minirag.errors import AppError, NotFound
from minirag.observability import logger, metrics
from minirag.services.prompting import (
    CitationRenumberer,
    build_answer_messages,
    build_rewrite_messages,
    history_turns,
    renumber_citations,
)
from minirag.services.provider_keys import chat_api_key
from minirag.services.retrieval import BotSnapshot, RetrievalService, RetrievedChunk
from minirag.settings import Settings

SNIPPET_CHARS = 300
REWRITE_MAX_TOKENS = 96


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float | None = None

    def add(self, prompt: int, completion: int, cost: float | None) -> None:
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.total_tokens += prompt + completion
        if cost is not None:
            self.cost = (self.cost or 0.0) + cost


@dataclass
class ChatTurn:
    chat_id: uuid.UUID
    user_message: Message
    assistant_message: Message
    citations: list[dict[str, Any]]
    usage: Usage
    retrieval_query: str


@dataclass
class _Turn:
    """Everything a turn needs between its reads and its write; plain values, no ORM rows."""

    bot: BotSnapshot
    api_key: str | None
    chat_id: uuid.UUID
    new_chat_title: str | None  # set when this turn starts the chat
    message: str
    received_at: datetime
    history: list[dict[str, str]]
    query: str = ""
    user_message_id: uuid.UUID = field(default_factory=uuid.uuid4)
    usage: Usage = field(default_factory=Usage)
    usage_events: list[UsageEvent] = field(default_factory=list)
    llm_messages: list[dict[str, str]] | None = None
    included: list[RetrievedChunk] = field(default_factory=list)


def citation_dict(number: int, chunk: RetrievedChunk) -> dict[str, Any]:
    snippet = " ".join(chunk.text.split())
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return {
        "index": number, "source_id": chunk.source_id, "document_id": chunk.document_id,
        "chunk_id": chunk.chunk_id, "title": chunk.title, "external_id": chunk.external_id,
        "heading": chunk.heading, "page": chunk.page, "snippet": snippet,
        "score": round(chunk.relevance if chunk.relevance is not None else chunk.score, 6),
    }


class ChatService:
    def __init__(self, scope: TenantScope, settings: Settings, *, gateway: Any, retrieval: RetrievalService) -> None:
        self._scope = scope
        self._settings = settings
        self._gateway = gateway
        self._retrieval = retrieval

    # -- reads -----------------------------------------------------------------------------------
    def get_chat(self, chat_id: uuid.UUID) -> Chat:
        return self._scope.get(Chat, chat_id)

    def list_messages(self, chat_id: uuid.UUID, *, limit: int, cursor: str | None) -> PageResult[Message]:
        self.get_chat(chat_id)
        stmt = self._scope.select(Message).where(Message.chat_id == chat_id)
        return self._scope.page(stmt, Message, limit=limit, cursor=cursor, newest_first=False)

    def retrieve(self, bot_profile_id: uuid.UUID, query: str, *, top_k: int | None, mode: str = "hybrid",
                 min_score: float | None = None) -> list[RetrievedChunk]:
        bot = BotSnapshot.of(self._scope.require_ref(BotProfile, bot_profile_id, field="bot_profile_id"))
        self._scope.rollback()  # no transaction held while embedding and searching
        try:
            return self._retrieval.retrieve(bot, query, top_k=top_k or bot.top_k, mode=mode,  # type: ignore[arg-type]
                                            min_score=min_score)
        finally:
            self._scope.rollback()

    # -- a turn ----------------------------------------------------------------------------------
    def ask(self, *, bot_profile_id: uuid.UUID, message: str, chat_id: uuid.UUID | None,
            top_k: int | None) -> ChatTurn:
        turn = self._start(bot_profile_id, message, chat_id)
        try:
            self._ground(turn, top_k)
            if turn.llm_messages is None:
                return self._finish(turn, turn.bot.no_answer_text, [], None)
            completion = self._gateway.complete(
                turn.llm_messages, model=turn.bot.model, temperature=turn.bot.temperature,
                max_tokens=turn.bot.max_tokens, api_key=turn.api_key, timeout=self._settings.llm_timeout_seconds,
            )
        except AppError as exc:
            user_message_id = self._store_failed_turn(turn, exc)
            if exc.details is None:  # tell the client where its message was kept
                exc.details = {"chat_id": str(turn.chat_id), "user_message_id": str(user_message_id)}
            raise
        text, cited = renumber_citations(completion.text, turn.included)
        return self._finish(turn, text, cited, completion)

    def ask_stream(self, *, bot_profile_id: uuid.UUID, message: str, chat_id: uuid.UUID | None,
                   top_k: int | None) -> Iterator[tuple[str, dict[str, Any]]]:
        """Server-sent events: `start` (once the request is valid), `token`s as the model writes,
        then `done` (the stored turn: answer, citations, usage) or `error`. Citation markers are
        renumbered as they stream, so the tokens concatenate to exactly `done.answer`."""
        turn = self._start(bot_profile_id, message, chat_id)
        yield "start", {"chat_id": str(turn.chat_id)}
        try:
            self._ground(turn, top_k)
            if turn.llm_messages is None:
                yield "token", {"text": turn.bot.no_answer_text}
                yield "done", self.turn_payload(self._finish(turn, turn.bot.no_answer_text, [], None))
                return
            stream = self._gateway.stream(
                turn.llm_messages, model=turn.bot.model, temperature=turn.bot.temperature,
                max_tokens=turn.bot.max_tokens, api_key=turn.api_key, timeout=self._settings.llm_timeout_seconds,
            )
            renumberer = CitationRenumberer(turn.included)
            for delta in stream:
                text = renumberer.feed(delta)
                if text:
                    yield "token", {"text": text}
            tail = renumberer.finish()
            if tail:
                yield "token", {"text": tail}
            completion = stream.result
        except AppError as exc:
            user_message_id = self._store_failed_turn(turn, exc)
            if exc.details is None:
                exc.details = {"chat_id": str(turn.chat_id), "user_message_id": str(user_message_id)}
            yield "error", exc.to_body()["error"]
            return
        yield "done", self.turn_payload(self._finish(turn, renumberer.text, renumberer.cited, completion))

    @staticmethod
    def turn_payload(turn: ChatTurn) -> dict[str, Any]:
        return {
            "chat_id": str(turn.chat_id), "message_id": str(turn.assistant_message.id),
            "user_message_id": str(turn.user_message.id), "answer": turn.assistant_message.content,
            "citations": turn.citations, "retrieval_query": turn.retrieval_query,
            "usage": {"prompt_tokens": turn.usage.prompt_tokens, "completion_tokens": turn.usage.completion_tokens,
                      "total_tokens": turn.usage.total_tokens, "cost": turn.usage.cost},
        }

    # -- steps -----------------------------------------------------------------------------------
    def _start(self, bot_profile_id: uuid.UUID, message: str, chat_id: uuid.UUID | None) -> _Turn:
        """Validate the references and read the history, then end the read transaction."""
        received_at = utcnow()
        bot = BotSnapshot.of(self._scope.require_ref(BotProfile, bot_profile_id, field="bot_profile_id"))
        history: list[dict[str, str]] = []
        if chat_id is not None:
            chat = self._scope.find(Chat, chat_id)
            if chat is None or chat.bot_profile_id != bot.id:
                raise NotFound("chat", field="chat_id")
            if bot.history_turns:
                recent = self._scope.scalars(
                    self._scope.select(Message).where(Message.chat_id == chat_id, Message.error.is_(None))
                    .order_by(Message.created_at.desc(), Message.id.desc()).limit(bot.history_turns * 2)
                )
                history = history_turns(list(reversed(recent)))
            title = None
        else:
            chat_id, title = uuid.uuid4(), " ".join(message.split())[:80]
        self._scope.rollback()  # end the read transaction before the slow calls
        return _Turn(bot=bot, api_key=chat_api_key(bot), chat_id=chat_id, new_chat_title=title,
                     message=message, received_at=received_at, history=history, query=message)

    def _ground(self, turn: _Turn, top_k: int | None) -> None:
        """Rewrite (with history), retrieve, and build the answer prompt (None: nothing relevant)."""
        if turn.history:
            turn.query = self._rewrite(turn)
        try:
            chunks = self._retrieval.retrieve(turn.bot, turn.query, top_k=top_k or turn.bot.top_k)
        finally:
            self._scope.rollback()  # retrieval read the visible versions; do not hold that transaction
        if chunks:
            turn.llm_messages, turn.included = build_answer_messages(
                system_prompt=turn.bot.system_prompt, history=turn.history, chunks=chunks, question=turn.message,
                model=turn.bot.model, max_tokens=turn.bot.max_tokens,
            )

    def _rewrite(self, turn: _Turn) -> str:
        bot = turn.bot
        try:
            completion = self._gateway.complete(
                build_rewrite_messages(turn.history, turn.message), model=bot.model, temperature=0.0,
                max_tokens=REWRITE_MAX_TOKENS, api_key=turn.api_key, timeout=self._settings.llm_timeout_seconds,
            )
        except AppError as exc:
            # Retrieval can still work on the raw message; the answer call will surface a real outage.
            logger.warning("query rewrite failed; using the message as is", extra={"reason": exc.message})
            return turn.message
        turn.usage.add(completion.prompt_tokens, completion.completion_tokens, completion.cost)
        turn.usage_events.append(UsageEvent(
            id=uuid.uuid4(), kind=UsageKind.rewrite, model=completion.model or bot.model, bot_profile_id=bot.id,
            chat_id=turn.chat_id, message_id=turn.user_message_id, prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            total_tokens=completion.prompt_tokens + completion.completion_tokens, cost=completion.cost,
        ))
        rewritten = " ".join(completion.text.split())
        return rewritten[:2000] or turn.message

    # -- the write: one transaction per turn ---------------------------------------------------
    def _begin_write(self, turn: _Turn, messages: int) -> Message:
        """Start the turn's transaction: the chat with its counters (a new chat is inserted with
        them; an existing one gets SQL increments), then the user's message to add."""
        self._scope.rollback()  # nothing may be pending from the reads: the write starts clean
        if turn.new_chat_title is not None:
            usage = turn.usage
            self._scope.add(Chat(id=turn.chat_id, bot_profile_id=turn.bot.id, title=turn.new_chat_title,
                                 message_count=messages, prompt_tokens=usage.prompt_tokens,
                                 completion_tokens=usage.completion_tokens, total_tokens=usage.total_tokens,
                                 cost=usage.cost))
            self._scope.flush()  # the chat row first: messages reference it
        else:
            self._bump_counters(turn.chat_id, messages, turn.usage)
        return Message(id=turn.user_message_id, chat_id=turn.chat_id, role=MessageRole.user, content=turn.message,
                       retrieval_query=turn.query, created_at=turn.received_at)

    def _store_failed_turn(self, turn: _Turn, exc: AppError) -> uuid.UUID:
        user = self._begin_write(turn, 1)
        user.error = exc.code
        self._scope.add(user)
        for event in turn.usage_events:
            self._scope.add(event)
        self._scope.commit()
        metrics.add_metric(name="ChatProviderErrors", unit="Count", value=1)
        logger.warning("chat turn failed; user message stored",
                       extra={"chat_id": str(turn.chat_id), "message_id": str(user.id), "code": exc.code})
        return user.id

    def _bump_counters(self, chat_id: uuid.UUID, messages: int, usage: Usage) -> None:
        values: dict[str, Any] = {
            "message_count": Chat.message_count + messages,
            "prompt_tokens": Chat.prompt_tokens + usage.prompt_tokens,
            "completion_tokens": Chat.completion_tokens + usage.completion_tokens,
            "total_tokens": Chat.total_tokens + usage.total_tokens,
            "updated_at": utcnow(),
        }
        if usage.cost is not None:
            values["cost"] = func.coalesce(Chat.cost, 0.0) + usage.cost
        self._scope.execute(update(Chat).where(Chat.tenant_id == self._scope.tenant_id, Chat.id == chat_id)
                            .values(**values).execution_options(synchronize_session=False))

    def _finish(self, turn: _Turn, text: str, cited: list[tuple[int, RetrievedChunk]], completion: Any) -> ChatTurn:
        bot = turn.bot
        if completion is not None:
            turn.usage.add(completion.prompt_tokens, completion.completion_tokens, completion.cost)
        citations = [citation_dict(n, chunk) for n, chunk in cited]
        user = self._scope.add(self._begin_write(turn, 2))
        assistant = self._scope.add(Message(
            id=uuid.uuid4(), chat_id=turn.chat_id, role=MessageRole.assistant, content=text,
            created_at=max(utcnow(), turn.received_at + timedelta(microseconds=1)),  # sorts after the question
            citations=citations, model=(completion.model or bot.model) if completion is not None else None,
            prompt_tokens=completion.prompt_tokens if completion is not None else 0,
            completion_tokens=completion.completion_tokens if completion is not None else 0,
        ))
        for event in turn.usage_events:
            self._scope.add(event)
        if completion is not None:
            self._scope.add(UsageEvent(
                id=uuid.uuid4(), kind=UsageKind.chat, model=completion.model or bot.model, bot_profile_id=bot.id,
                chat_id=turn.chat_id, message_id=assistant.id, prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                total_tokens=completion.prompt_tokens + completion.completion_tokens, cost=completion.cost,
            ))
        self._scope.commit()
        metrics.add_metric(name="ChatTurns", unit="Count", value=1)
        return ChatTurn(turn.chat_id, user, assistant, citations, turn.usage, turn.query)
