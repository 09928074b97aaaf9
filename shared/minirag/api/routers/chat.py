from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Iterator

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from minirag.api.deps import PageDep, ScopeDep, SettingsDep
from minirag.api.paging import PAGED_RESPONSES, paged_response
from minirag.api.schemas.chat import (
    ChatPublic,
    ChatRequest,
    ChatResponse,
    FeedbackUpdate,
    IsoInstant,
    MessagePublic,
    RetrievedChunkPublic,
    RetrieveRequest,
    RetrieveResponse,
)
from minirag.errors import error_body
from minirag.observability import logger
from minirag.services.chat import AnswerDelta, ChatService, ChatTurn, PreparedTurn, TurnDone
from minirag.services.chat_history import ChatHistoryService
from minirag.services.commands import AskBot, ListChats, RateMessage, Retrieve
from minirag.services.retrieval import RetrievalService

router = APIRouter(tags=["chat"])


def get_chat_service(scope: ScopeDep, settings: SettingsDep) -> ChatService:
    """Chat needs the LLM gateway (LiteLLM, imported lazily on first call) and the vector store."""
    from minirag.llm.gateway import get_gateway
    from minirag.vectorstore.indexes import QdrantIndexes

    gateway = get_gateway()
    retrieval = RetrievalService(scope, settings, gateway=gateway, indexes=QdrantIndexes.from_settings(settings))
    return ChatService(scope, settings, gateway=gateway, retrieval=retrieval)


ChatServiceDep = Annotated[ChatService, Depends(get_chat_service)]


def get_chat_history_service(scope: ScopeDep) -> ChatHistoryService:
    """The operator's routes read and rate stored messages: no model gateway, no vector store."""
    return ChatHistoryService(scope)


ChatHistoryServiceDep = Annotated[ChatHistoryService, Depends(get_chat_history_service)]


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n".encode()


def turn_payload(turn: ChatTurn) -> dict[str, Any]:
    """The JSON answer (and the `done` event): ids as strings, usage nested; the seed system's
    `message` and `sources` beside `answer`/`message_id` and `citations`."""
    answer = turn.assistant_message
    return {
        "chat_id": str(turn.chat_id), "message_id": str(answer.id),
        "user_message_id": str(turn.user_message.id), "answer": answer.content,
        "message": {"id": str(answer.id), "role": "assistant", "content": answer.content},
        "citations": turn.citations, "sources": turn.citations, "retrieval_query": turn.retrieval_query,
        "usage": {"model": turn.model, "prompt_tokens": turn.usage.prompt_tokens,
                  "completion_tokens": turn.usage.completion_tokens, "total_tokens": turn.usage.total_tokens,
                  "cost": turn.usage.cost},
    }


def _sse(service: ChatService, turn: PreparedTurn) -> Iterator[bytes]:
    """`start` {chat_id}, `token` {text} as the model writes, then `done` (the stored turn) or
    `error`. Once the response has started, an error can only be told in the stream: an unexpected
    one becomes a generic `error` event (its text is logged with the request id, never sent; the
    client has the id in the stream's x-request-id header)."""
    yield _event("start", {"chat_id": str(turn.chat_id)})
    try:
        for event in service.stream_turn(turn):
            if isinstance(event, AnswerDelta):
                yield _event("token", {"text": event.text})
            elif isinstance(event, TurnDone):
                yield _event("done", turn_payload(event.turn))
            else:
                yield _event("error", event.error.to_body()["error"])
    except Exception:  # noqa: BLE001 - the status line is already sent
        logger.exception("chat stream failed")
        yield _event("error", error_body("internal_error", "internal error; the answer was not completed. Quote the "
                                                           "x-request-id response header when reporting it")["error"])


@router.post("/v1/chat", response_model=ChatResponse,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "JSON, or Server-Sent Events when stream is true"}})
def create_chat_message(body: ChatRequest, service: ChatServiceDep) -> Any:
    """Ask a bot. Without `chat_id` a new chat starts; with it, the turn continues that chat.

    With `stream: true` the answer comes as Server-Sent Events: `start` {chat_id}, `token` {text}
    (the tokens concatenate to the answer), then `done` (the same body as the JSON answer) or
    `error` {code, message, details}. A deactivated bot is a 409 `bot_inactive`."""
    command = AskBot(bot_profile_id=body.bot_profile_id, message=body.message, chat_id=body.chat_id,
                     top_k=body.top_k)
    if body.stream:
        turn = service.prepare_turn(command)  # validation errors (404, 422) surface before the stream starts
        return StreamingResponse(_sse(service, turn),
                                 media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})
    return ChatResponse.model_validate(turn_payload(service.ask(command)))


@router.get("/v1/chat", response_model=list[ChatPublic], responses=PAGED_RESPONSES)
def list_chats(
    request: Request,
    response: Response,
    service: ChatHistoryServiceDep,
    page: PageDep,
    bot_profile_id: Annotated[uuid.UUID | None, Query(description="only this bot's chats")] = None,
    created_after: Annotated[IsoInstant | None, Query(
        description="ISO 8601; chats created at or after this instant (no offset: UTC)")] = None,
    created_before: Annotated[IsoInstant | None, Query(
        description="ISO 8601; chats created before this instant (no offset: UTC)")] = None,
) -> list[ChatPublic]:
    """The tenant's chats, newest first, each with its title (the first question, shortened) and
    message count."""
    result = service.list(ListChats(limit=page.limit, cursor=page.cursor, bot_profile_id=bot_profile_id,
                                    created_after=created_after, created_before=created_before))
    return paged_response(request, response, [ChatPublic.model_validate(c) for c in result.items],
                          result.next_cursor)


@router.get("/v1/chat/{id}", response_model=ChatPublic)
def get_chat(id: uuid.UUID, service: ChatServiceDep) -> ChatPublic:
    """Chat metadata with its token counters."""
    return ChatPublic.model_validate(service.get_chat(id))


@router.get("/v1/chat/{id}/messages", response_model=list[MessagePublic], responses=PAGED_RESPONSES)
def list_chat_messages(request: Request, response: Response, id: uuid.UUID, service: ChatServiceDep,
                       page: PageDep) -> list[MessagePublic]:
    """The chat's history, oldest first."""
    result = service.list_messages(id, limit=page.limit, cursor=page.cursor)
    return paged_response(request, response, [MessagePublic.model_validate(m) for m in result.items],
                          result.next_cursor)


@router.patch("/v1/chat/{id}/messages/{mid}/feedback", response_model=MessagePublic)
def set_message_feedback(id: uuid.UUID, mid: uuid.UUID, body: FeedbackUpdate,
                         service: ChatHistoryServiceDep) -> MessagePublic:
    """Rate an assistant answer `positive` or `negative`, with an optional comment; `null` clears it."""
    return MessagePublic.model_validate(service.rate(RateMessage(chat_id=id, message_id=mid, feedback=body.feedback,
                                                                 comment=body.comment)))


@router.post("/v1/retrieve", response_model=RetrieveResponse)
def retrieve(body: RetrieveRequest, service: ChatServiceDep) -> RetrieveResponse:
    """Ranked chunks for a query, without calling a language model."""
    chunks = service.retrieve(Retrieve(bot_profile_id=body.bot_profile_id, query=body.query, top_k=body.top_k,
                                       mode=body.mode, min_score=body.min_score))
    return RetrieveResponse(data=[RetrievedChunkPublic.model_validate(c, from_attributes=True) for c in chunks])
