"""The chat orchestrator: follow-up rewrite → hybrid retrieval → prompt within budget → LiteLLM
answer with numbered citations → one transaction that stores the turn, its usage and counters.

- With history, the message is first rewritten into a standalone query (an LLM call, skipped on
  the first turn); retrieval uses the rewrite, the answer call sees the original message.
- With nothing relevant retrieved, the bot answers its `no_answer_text` without calling the model.
- A provider failure becomes a 502 with a clear message; the user's message is still stored
  (with the chat), so nothing the user sent is lost.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from dataclasses import dataclass, field
from typing import Any, Iterator

from sqlalchemy import update

from minirag.db.base import utcnow
from minirag.db.models import BotProfile, Chat, Message, MessageRole, UsageEvent, UsageKind
from minirag.db.scope import PageResult, TenantScope
from minirag.errors import AppError, NotFound
from minirag.observability import logger, metrics
from minirag.services.prompting import (
    build_answer_messages,
    build_rewrite_messages,
    history_turns,
    renumber_citations,
)
from minirag.services.retrieval import RetrievalService, RetrievedChunk
from minirag.settings import Settings

SNIPPET_CHARS = 300


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
    chat: Chat
    user_message: Message
    assistant_message: Message
    citations: list[dict[str, Any]]
    usage: Usage
    retrieval_query: str


@dataclass
class _Prepared:
    bot: BotProfile
    chat: Chat
    is_new_chat: bool
    message: str
    query: str
    chunks: list[RetrievedChunk]
    usage: Usage
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
        bot = self._scope.require_ref(BotProfile, bot_profile_id, field="bot_profile_id")
        self._scope.rollback()  # no transaction held while embedding and searching
        return self._retrieval.retrieve(bot, query, top_k=top_k or bot.top_k, mode=mode, min_score=min_score)  # type: ignore[arg-type]

    # -- a turn ----------------------------------------------------------------------------------
    def ask(self, *, bot_profile_id: uuid.UUID, message: str, chat_id: uuid.UUID | None,
            top_k: int | None) -> ChatTurn:
        prepared = self._prepare(bot_profile_id, message, chat_id, top_k)
        if prepared.llm_messages is None:
            return self._finish(prepared, prepared.bot.no_answer_text, None)
        try:
            completion = self._gateway.complete(
                prepared.llm_messages, model=prepared.bot.model, temperature=prepared.bot.temperature,
                max_tokens=prepared.bot.max_tokens, api_key=self._provider_key(prepared.bot),
                timeout=self._settings.llm_timeout_seconds,
            )
        except AppError as exc:
            self._store_failed_turn(prepared, exc)
            raise
        return self._finish(prepared, completion.text, completion)

    def ask_stream(self, *, bot_profile_id: uuid.UUID, message: str, chat_id: uuid.UUID | None,
                   top_k: int | None) -> Iterator[tuple[str, dict[str, Any]]]:
        """Server-sent events: `start`, `token`s as the model writes, then `done` (citations, usage)
        or `error`. Citation markers in streamed tokens are the model's; `done.answer` is final."""
        prepared = self._prepare(bot_profile_id, message, chat_id, top_k)
        yield "start", {"chat_id": str(prepared.chat.id)}
        if prepared.llm_messages is None:
            yield "token", {"text": prepared.bot.no_answer_text}
            turn = self._finish(prepared, prepared.bot.no_answer_text, None)
            yield "done", self.turn_payload(turn)
            return
        try:
            stream = self._gateway.stream(
                prepared.llm_messages, model=prepared.bot.model, temperature=prepared.bot.temperature,
                max_tokens=prepared.bot.max_tokens, api_key=self._provider_key(prepared.bot),
                timeout=self._settings.llm_timeout_seconds,
            )
            for delta in stream:
                if delta:
                    yield "token", {"text": delta}
            completion = stream.result
        except AppError as exc:
            self._store_failed_turn(prepared, exc)
            yield "error", exc.to_body()["error"]
            return
        turn = self._finish(prepared, completion.text, completion)
        yield "done", self.turn_payload(turn)

    @staticmethod
    def turn_payload(turn: ChatTurn) -> dict[str, Any]:
        return {
            "chat_id": str(turn.chat.id), "message_id": str(turn.assistant_message.id),
            "user_message_id": str(turn.user_message.id), "answer": turn.assistant_message.content,
            "citations": turn.citations, "retrieval_query": turn.retrieval_query,
            "usage": {"prompt_tokens": turn.usage.prompt_tokens, "completion_tokens": turn.usage.completion_tokens,
                      "total_tokens": turn.usage.total_tokens, "cost": turn.usage.cost},
        }

    # -- steps -----------------------------------------------------------------------------------
    def _provider_key(self, bot: BotProfile) -> str | None:
        if not bot.provider_key_encrypted:
            return None
        from minirag.security.fernet import decrypt_secret

        return decrypt_secret(bot.provider_key_encrypted)

    def _prepare(self, bot_profile_id: uuid.UUID, message: str, chat_id: uuid.UUID | None,
                 top_k: int | None) -> _Prepared:
        bot = self._scope.require_ref(BotProfile, bot_profile_id, field="bot_profile_id")
        history: list[dict[str, str]] = []
        if chat_id is not None:
            chat = self._scope.find(Chat, chat_id)
            if chat is None or chat.bot_profile_id != bot.id:
                raise NotFound("chat", field="chat_id")
            is_new = False
            if bot.history_turns:
                recent = self._scope.scalars(
                    self._scope.select(Message).where(Message.chat_id == chat.id, Message.error.is_(None))
                    .order_by(Message.created_at.desc(), Message.id.desc()).limit(bot.history_turns * 2)
                )
                history = history_turns(list(reversed(recent)))
        else:
            chat = Chat(id=uuid.uuid4(), bot_profile_id=bot.id, title=" ".join(message.split())[:80])
            is_new = True
        self._scope.rollback()  # end the read transaction before the slow calls
        usage = Usage()
        prepared = _Prepared(bot, chat, is_new, message, message, [], usage)
        if history:
            prepared.query = self._rewrite(prepared, history)
        prepared.chunks = self._retrieval.retrieve(bot, prepared.query, top_k=top_k or bot.top_k)
        if prepared.chunks:
            prepared.llm_messages, prepared.included = build_answer_messages(
                system_prompt=bot.system_prompt, history=history, chunks=prepared.chunks, question=message,
                model=bot.model, max_tokens=bot.max_tokens,
            )
        return prepared

    def _rewrite(self, prepared: _Prepared, history: list[dict[str, str]]) -> str:
        bot = prepared.bot
        try:
            completion = self._gateway.complete(
                build_rewrite_messages(history, prepared.message), model=bot.model, temperature=0.0,
                max_tokens=96, api_key=self._provider_key(bot), timeout=self._settings.llm_timeout_seconds,
            )
        except AppError as exc:
            # Retrieval can still work on the raw message; the answer call will surface a real outage.
            logger.warning("query rewrite failed; using the message as is", extra={"reason": exc.message})
            return prepared.message
        prepared.usage.add(completion.prompt_tokens, completion.completion_tokens, completion.cost)
        prepared.usage_events.append(UsageEvent(
            id=uuid.uuid4(), kind=UsageKind.rewrite, model=completion.model or bot.model, bot_profile_id=bot.id,
            chat_id=prepared.chat.id, prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens, total_tokens=completion.total_tokens, cost=completion.cost,
        ))
        rewritten = " ".join(completion.text.split())
        return rewritten[:2000] or prepared.message

    def _persist_chat(self, prepared: _Prepared) -> None:
        if prepared.is_new_chat:
            self._scope.add(prepared.chat)
            self._scope.flush()

    def _store_failed_turn(self, prepared: _Prepared, exc: AppError) -> None:
        self._persist_chat(prepared)
        user = self._scope.add(Message(id=uuid.uuid4(), chat_id=prepared.chat.id, role=MessageRole.user,
                                       content=prepared.message, retrieval_query=prepared.query, error=exc.code))
        for event in prepared.usage_events:
            self._scope.add(event)
        self._bump_counters(prepared.chat.id, 1, prepared.usage)
        self._scope.commit()
        metrics.add_metric(name="ChatProviderErrors", unit="Count", value=1)
        logger.warning("chat provider error; user message stored",
                       extra={"chat_id": str(prepared.chat.id), "message_id": str(user.id), "code": exc.code})

    def _bump_counters(self, chat_id: uuid.UUID, messages: int, usage: Usage) -> None:
        values: dict[str, Any] = {
            "message_count": Chat.message_count + messages,
            "prompt_tokens": Chat.prompt_tokens + usage.prompt_tokens,
            "completion_tokens": Chat.completion_tokens + usage.completion_tokens,
            "total_tokens": Chat.total_tokens + usage.total_tokens,
        }
        if usage.cost is not None:
            values["cost"] = (Chat.cost if Chat.cost is not None else 0.0) + usage.cost
        self._scope.execute(update(Chat).where(Chat.tenant_id == self._scope.tenant_id, Chat.id == chat_id)
                            .values(**values).execution_options(synchronize_session=False))

    def _finish(self, prepared: _Prepared, answer: str, completion: Any) -> ChatTurn:
        bot = prepared.bot
        if completion is not None:
            prepared.usage.add(completion.prompt_tokens, completion.completion_tokens, completion.cost)
            text, cited = renumber_citations(answer, prepared.included)
        else:
            text, cited = answer, []
        citations = [citation_dict(n, chunk) for n, chunk in cited]
        self._persist_chat(prepared)
        now = utcnow()  # explicit, so the user message always sorts before its answer
        user = self._scope.add(Message(id=uuid.uuid4(), chat_id=prepared.chat.id, role=MessageRole.user,
                                       content=prepared.message, retrieval_query=prepared.query, created_at=now))
        self._scope.flush()
        assistant = self._scope.add(Message(
            id=uuid.uuid4(), chat_id=prepared.chat.id, role=MessageRole.assistant, content=text,
            created_at=now + timedelta(microseconds=1),
            citations=citations, model=(completion.model if completion is not None else None) or bot.model,
            prompt_tokens=completion.prompt_tokens if completion is not None else 0,
            completion_tokens=completion.completion_tokens if completion is not None else 0,
        ))
        for event in prepared.usage_events:
            self._scope.add(event)
        if completion is not None:
            self._scope.add(UsageEvent(
                id=uuid.uuid4(), kind=UsageKind.chat, model=completion.model or bot.model, bot_profile_id=bot.id,
                chat_id=prepared.chat.id, message_id=assistant.id, prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens, total_tokens=completion.total_tokens,
                cost=completion.cost,
            ))
        self._bump_counters(prepared.chat.id, 2, prepared.usage)
        self._scope.commit()
        self._scope.refresh(prepared.chat)
        metrics.add_metric(name="ChatTurns", unit="Count", value=1)
        return ChatTurn(prepared.chat, user, assistant, citations, prepared.usage, prepared.query)
