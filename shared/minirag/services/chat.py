"""The chat orchestrator: follow-up rewrite → hybrid retrieval → prompt within budget → LiteLLM
answer with numbered citations → one transaction that stores the turn, its usage and counters.

- With history, the message is first rewritten into a standalone query (an LLM call, skipped on
  the first turn); retrieval uses the rewrite, the answer call sees the original message.
- With nothing relevant retrieved, the bot answers its `no_answer_text` without calling the model.
- A failure after validation (model provider, embedding, vector store) becomes its error (502 for
  a provider); the user's message is still stored (with the chat, flagged with the error code),
  and any usage already spent (a rewrite) is recorded, so nothing the user sent is lost.

Transactions: a turn reads the bot, the chat and its history in one `read()`; no transaction is
open while the model, the embedder or the vector store work. A small `write()` then counts the turn
against the tenant's chat turns per day and refuses it (429) when those, or the day's model tokens,
are spent. The turn is then written in one `write()`: chat, both messages, usage events, the chat's
counters (SQL increments, so concurrent turns in one chat cannot lose an update) and the day's
model tokens.

Streaming is two calls, so that a bad request fails before any byte is sent: `prepare_turn`
validates and reads (raising `AppError`), `stream_turn` yields domain events (`AnswerDelta`s, then
`TurnDone` or `TurnFailed`); the API turns them into Server-Sent Events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterator, Literal

from minirag.db import chat_rows
from minirag.db.base import utcnow
from minirag.db.models import Chat, Message, MessageRole, UsageEvent, UsageKind
from minirag.db.scope import PageResult, TenantScope
from minirag.errors import AppError, InvalidInput, NotFound
from minirag.llm.ports import ModelCompletion, ModelGateway
from minirag.observability import logger, metrics
from minirag.services.bot_refs import require_active_bot
from minirag.services.commands import AskBot, Retrieve
from minirag.services.prompting import (
    CitationRenumberer,
    build_answer_messages,
    build_rewrite_messages,
    history_turns,
    renumber_citations,
)
from minirag.services.provider_keys import chat_api_key, on_platform_keys
from minirag.services.quotas import count_spent, tenant_quota
from minirag.services.reranking import Reranker, RetrievalOutcome, retrieve_reranked
from minirag.services.retrieval import BotSnapshot, RetrievalService, RetrievedChunk
from minirag.services.webhook_events import WebhookEvents
from minirag.settings import Settings
from minirag.vectorstore.filters import FilterNode, parse_filter

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
    model: str = ""  # the model that answered (the bot's, when nothing relevant was found and none was called)
    warnings: list[str] = field(default_factory=list)  # e.g. the reranker failed and the fused order was used


@dataclass(frozen=True)
class AnswerDelta:
    text: str


@dataclass(frozen=True)
class TurnDone:
    turn: ChatTurn


@dataclass(frozen=True)
class TurnFailed:
    """The turn failed after validation; the user's message is stored and `error.details` says where."""

    error: AppError


TurnEvent = AnswerDelta | TurnDone | TurnFailed


@dataclass
class PreparedTurn:
    """A validated turn: everything it needs between its reads and its write; plain values, no ORM rows."""

    bot: BotSnapshot
    api_key: str | None
    chat_id: uuid.UUID
    new_chat_title: str | None  # set when this turn starts the chat
    message: str
    received_at: datetime
    history: list[dict[str, str]]
    query: str = ""
    top_k: int | None = None  # None: the bot's
    temperature: float | None = None  # None: the bot's
    max_tokens: int | None = None  # None: the bot's
    instructions: str | None = None  # the caller's system messages
    end_user: str | None = None  # stored on a new chat
    user_filter: FilterNode | None = None  # the request's metadata filter (the bot's is added by retrieval)
    group_by: Literal["document"] | None = None
    user_message_id: uuid.UUID = field(default_factory=uuid.uuid4)
    usage: Usage = field(default_factory=Usage)
    usage_events: list[UsageEvent] = field(default_factory=list)
    llm_messages: list[dict[str, str]] | None = None
    included: list[RetrievedChunk] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def answer_temperature(self) -> float:
        return self.bot.temperature if self.temperature is None else self.temperature

    @property
    def answer_max_tokens(self) -> int:
        return self.bot.max_tokens if self.max_tokens is None else self.max_tokens

    @property
    def system_prompt(self) -> str:
        return f"{self.bot.system_prompt}\n\n{self.instructions}" if self.instructions else self.bot.system_prompt

    @property
    def on_platform_keys(self) -> bool:
        """The turn's model calls spend the platform's credentials (quotas count them as such)."""
        return on_platform_keys(self.api_key)


def citation_dict(number: int, chunk: RetrievedChunk) -> dict[str, Any]:
    snippet = " ".join(chunk.text.split())
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return {
        "index": number, "source_id": chunk.source_id, "document_id": chunk.document_id,
        "chunk_id": chunk.chunk_id, "title": chunk.title, "filename": chunk.filename,
        "external_id": chunk.external_id, "metadata": chunk.metadata or {},
        "heading": chunk.heading, "page": chunk.page, "snippet": snippet,
        "score": chunk.score,
    }


class ChatService:
    def __init__(self, scope: TenantScope, settings: Settings, *, gateway: ModelGateway,
                 retrieval: RetrievalService, events: WebhookEvents | None = None) -> None:
        self._scope = scope
        self._settings = settings
        self._gateway = gateway
        self._retrieval = retrieval
        self._events = events  # webhooks: chat.message, after the turn's commit
        self._reranker = Reranker(gateway, timeout=settings.rerank_timeout_seconds)

    # -- reads -----------------------------------------------------------------------------------
    def get_chat(self, chat_id: uuid.UUID) -> Chat:
        with self._scope.read():
            return self._scope.get(Chat, chat_id)

    def list_messages(self, chat_id: uuid.UUID, *, limit: int, cursor: str | None) -> PageResult[Message]:
        with self._scope.read():
            self._scope.get(Chat, chat_id)
            return self._scope.page(Message, limit=limit, cursor=cursor, newest_first=False, chat_id=chat_id)

    def retrieve(self, query: Retrieve) -> RetrievalOutcome:
        user_filter = parse_filter(query.filter)
        with self._scope.read():
            bot = BotSnapshot.of(require_active_bot(self._scope, query.bot_profile_id))
        # No transaction is open while the query is embedded and searched: retrieval reads in its own.
        outcome = retrieve_reranked(self._retrieval, self._reranker, bot, query.query,
                                    top_k=query.top_k or bot.top_k, mode=query.mode, min_score=query.min_score,
                                    user_filter=user_filter, group_by=query.group_by)
        if outcome.rerank_usage is not None:  # a reranker call is a model call: its usage is recorded
            with self._scope.write():
                self._scope.add(outcome.rerank_usage.event(bot.id))
                count_spent(self._scope, "model_tokens_per_day", outcome.rerank_usage.total_tokens)
        return outcome

    # -- a turn ----------------------------------------------------------------------------------
    def ask(self, command: AskBot) -> ChatTurn:
        turn = self.prepare_turn(command)
        try:
            self._ground(turn)
            if turn.llm_messages is None:
                return self._finish(turn, turn.bot.no_answer_text, [], None)
            completion = self._gateway.complete(
                turn.llm_messages, model=turn.bot.model, temperature=turn.answer_temperature,
                max_tokens=turn.answer_max_tokens, api_key=turn.api_key, timeout=self._settings.llm_timeout_seconds,
            )
        except AppError as exc:
            self._store_failed_turn(turn, exc)
            raise
        text, cited = renumber_citations(completion.text, turn.included)
        return self._finish(turn, text, cited, completion)

    def prepare_turn(self, command: AskBot) -> PreparedTurn:
        """Validate the references, read the history and count the turn against the day's budget
        (raises `AppError` for a bad request, 429 past the budget, before any model is called).
        One write: the checks, the reads and the count in a single transaction."""
        received_at = utcnow()
        user_filter = parse_filter(command.filter)
        with self._scope.write():
            bot = BotSnapshot.of(require_active_bot(self._scope, command.bot_profile_id))
            if command.max_tokens is not None and command.max_tokens > bot.max_tokens:
                raise InvalidInput("max_tokens", f"at most {bot.max_tokens} for this bot (its max_tokens)")
            history: list[dict[str, str]] = []
            chat_id = command.chat_id
            if chat_id is None and command.end_user is not None:
                latest = chat_rows.latest_chat_of_end_user(self._scope, bot.id, command.end_user)
                chat_id = latest.id if latest is not None else None
            if chat_id is not None:
                chat = self._scope.find(Chat, chat_id)
                if chat is None or chat.bot_profile_id != bot.id:
                    raise NotFound("chat", field="chat_id")
                if bot.history_turns:
                    history = history_turns(chat_rows.recent_messages(self._scope, chat_id,
                                                                      limit=bot.history_turns * 2))
                title = None
            else:
                chat_id, title = uuid.uuid4(), " ".join(command.message.split())[:80]
                if command.history and bot.history_turns:  # the caller keeps the conversation
                    history = [{"role": role, "content": text}
                               for role, text in command.history][-bot.history_turns * 2:]
            quota = tenant_quota(self._scope, self._settings)
            quota.require_room("model_tokens_per_day")
            quota.take("chat_turns_per_day")
        return PreparedTurn(bot=bot, api_key=chat_api_key(bot), chat_id=chat_id, new_chat_title=title,
                            message=command.message, received_at=received_at, history=history,
                            query=command.message, top_k=command.top_k, temperature=command.temperature,
                            max_tokens=command.max_tokens, instructions=command.instructions,
                            end_user=command.end_user, user_filter=user_filter, group_by=command.group_by)

    def stream_turn(self, turn: PreparedTurn) -> Iterator[TurnEvent]:
        """The answer as the model writes it, then the stored turn (or the failure). Citation
        markers are renumbered as they stream, so the deltas concatenate to exactly the answer."""
        try:
            self._ground(turn)
            if turn.llm_messages is None:
                yield AnswerDelta(turn.bot.no_answer_text)
                yield TurnDone(self._finish(turn, turn.bot.no_answer_text, [], None))
                return
            stream = self._gateway.stream(
                turn.llm_messages, model=turn.bot.model, temperature=turn.answer_temperature,
                max_tokens=turn.answer_max_tokens, api_key=turn.api_key, timeout=self._settings.llm_timeout_seconds,
            )
            renumberer = CitationRenumberer(turn.included)
            for delta in stream:
                text = renumberer.feed(delta)
                if text:
                    yield AnswerDelta(text)
            tail = renumberer.finish()
            if tail:
                yield AnswerDelta(tail)
            completion = stream.result
        except AppError as exc:
            self._store_failed_turn(turn, exc)
            yield TurnFailed(exc)
            return
        yield TurnDone(self._finish(turn, renumberer.text, renumberer.cited, completion))

    # -- steps -----------------------------------------------------------------------------------
    def _ground(self, turn: PreparedTurn) -> None:
        """Rewrite (with history), retrieve, and build the answer prompt (None: nothing relevant)."""
        if turn.history:
            turn.query = self._rewrite(turn)
        outcome = retrieve_reranked(self._retrieval, self._reranker, turn.bot, turn.query,
                                    top_k=turn.top_k or turn.bot.top_k, user_filter=turn.user_filter,
                                    group_by=turn.group_by)
        chunks, rerank = outcome.chunks, outcome.rerank_usage
        turn.warnings += outcome.warnings
        if rerank is not None:
            turn.usage.add(rerank.total_tokens, 0, rerank.cost)
            turn.usage_events.append(rerank.event(turn.bot.id, chat_id=turn.chat_id, message_id=turn.user_message_id))
        if chunks:
            turn.llm_messages, turn.included = build_answer_messages(
                system_prompt=turn.system_prompt, history=turn.history, chunks=chunks, question=turn.message,
                model=turn.bot.model, max_tokens=turn.answer_max_tokens,
            )

    def _rewrite(self, turn: PreparedTurn) -> str:
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
    def _add_chat_and_question(self, turn: PreparedTurn, messages: int, *, error: str | None = None) -> Message:
        """Inside the turn's write: the chat with its counters (a new chat is inserted with them;
        an existing one gets SQL increments), then the user's message."""
        usage = turn.usage
        if turn.new_chat_title is not None:
            self._scope.add(Chat(id=turn.chat_id, bot_profile_id=turn.bot.id, title=turn.new_chat_title,
                                 end_user=turn.end_user,
                                 message_count=messages, prompt_tokens=usage.prompt_tokens,
                                 completion_tokens=usage.completion_tokens, total_tokens=usage.total_tokens,
                                 cost=usage.cost))
            self._scope.flush()  # the chat row first: messages reference it
        else:
            chat_rows.bump_counters(self._scope, turn.chat_id, messages=messages, prompt_tokens=usage.prompt_tokens,
                                    completion_tokens=usage.completion_tokens, cost=usage.cost)
        return self._scope.add(Message(id=turn.user_message_id, chat_id=turn.chat_id, role=MessageRole.user,
                                       content=turn.message, retrieval_query=turn.query,
                                       created_at=turn.received_at, error=error))

    def _store_failed_turn(self, turn: PreparedTurn, exc: AppError) -> None:
        """Keep the user's message (flagged) and any usage spent, and tell the client where."""
        with self._scope.write():
            user = self._add_chat_and_question(turn, 1, error=exc.code)
            for event in turn.usage_events:
                self._scope.add(event)
            count_spent(self._scope, "model_tokens_per_day", turn.usage.total_tokens)
        metrics.add_metric(name="ChatProviderErrors", unit="Count", value=1)
        logger.warning("chat turn failed; user message stored",
                       extra={"chat_id": str(turn.chat_id), "message_id": str(user.id), "code": exc.code})
        if exc.details is None:
            exc.details = {"chat_id": str(turn.chat_id), "user_message_id": str(user.id)}

    def _finish(self, turn: PreparedTurn, text: str, cited: list[tuple[int, RetrievedChunk]],
                completion: ModelCompletion | None) -> ChatTurn:
        bot = turn.bot
        if completion is not None:
            turn.usage.add(completion.prompt_tokens, completion.completion_tokens, completion.cost)
        citations = [citation_dict(n, chunk) for n, chunk in cited]
        with self._scope.write():
            user = self._add_chat_and_question(turn, 2)
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
            count_spent(self._scope, "model_tokens_per_day", turn.usage.total_tokens)
        metrics.add_metric(name="ChatTurns", unit="Count", value=1)
        if self._events is not None:
            self._events.chat_message(self._scope, chat_id=turn.chat_id, message_id=assistant.id, bot_profile_id=bot.id)
        return ChatTurn(turn.chat_id, user, assistant, citations, turn.usage, turn.query,
                        model=assistant.model or bot.model, warnings=list(turn.warnings))
