from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date
from typing import Annotated, Any, Iterable, Iterator, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from minirag.api.deps import PageDep, PrincipalDep, ScopeDep, SettingsDep
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
from minirag.errors import PayloadTooLarge, error_body, field_details
from minirag.observability import logger
from minirag.queue.webhooks import get_webhook_publisher
from minirag.services.chat import AnswerDelta, ChatService, ChatTurn, PreparedTurn, TurnDone
from minirag.services.chat_history import EXPORT_FIELDS, ChatHistoryService
from minirag.services.commands import AskBot, ExportChats, ListChats, RateMessage, Retrieve
from minirag.services.retrieval import RetrievalService
from minirag.services.webhook_events import WebhookEvents

router = APIRouter(tags=["chat"])


def get_chat_service(scope: ScopeDep, settings: SettingsDep) -> ChatService:
    """Chat needs the LLM gateway (LiteLLM, imported lazily on first call) and the vector store."""
    from minirag.llm.gateway import get_gateway
    from minirag.vectorstore.indexes import QdrantIndexes

    gateway = get_gateway()
    retrieval = RetrievalService(scope, settings, gateway=gateway, indexes=QdrantIndexes.from_settings(settings))
    return ChatService(scope, settings, gateway=gateway, retrieval=retrieval,
                       events=WebhookEvents(get_webhook_publisher()))


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
        "warnings": turn.warnings,
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
def create_chat_message(body: ChatRequest, service: ChatServiceDep, principal: PrincipalDep) -> Any:
    """Ask a bot. Without `chat_id` a new chat starts; with it, the turn continues that chat.

    With `stream: true` the answer comes as Server-Sent Events: `start` {chat_id}, `token` {text}
    (the tokens concatenate to the answer), then `done` (the same body as the JSON answer) or
    `error` {code, message, details}. A deactivated bot is a 409 `bot_inactive`."""
    principal.require_bot(body.bot_profile_id)  # a publishable key chats with its own bot only
    command = AskBot(bot_profile_id=body.bot_profile_id, message=body.message, chat_id=body.chat_id,
                     top_k=body.top_k, filter=body.filter, group_by=body.group_by)
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


# -- export -----------------------------------------------------------------------------------------
# JSON is one array (valid JSON for any client, written a row at a time); jsonl is one object per
# line; CSV has a header row and the csv module's quoting. Through API Gateway a Lambda response is
# buffered and at most 6 MB: above EXPORT_MAX_BYTES the export is a 413 telling to narrow the range.
# The local runner (and a Function URL in RESPONSE_STREAM mode) streams it, one keyset page at a time.

ExportFormat = Literal["json", "jsonl", "csv"]
STREAMING_SCOPE_KEY = "minirag.response_streaming"  # set by the local runner's streaming passthrough
_MEDIA = {"json": "application/json", "jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def _encoded(rows: Iterable[dict[str, Any]], fmt: ExportFormat) -> Iterator[bytes]:
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            if buffer.tell() > 65536:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()
    elif fmt == "jsonl":
        for row in rows:
            yield json.dumps(row, ensure_ascii=False).encode() + b"\n"
    else:
        separator = b"[\n"
        for row in rows:
            yield separator + json.dumps(row, ensure_ascii=False).encode()
            separator = b",\n"
        yield b"[]\n" if separator == b"[\n" else b"\n]\n"


def _export_response(request: Request, rows: Iterator[dict[str, Any]], fmt: ExportFormat, name: str,
                     max_bytes: int) -> Response:
    extension = {"json": "json", "jsonl": "jsonl", "csv": "csv"}[fmt]
    headers = {"content-disposition": f'attachment; filename="{name}.{extension}"', "cache-control": "no-store"}
    chunks = _encoded(rows, fmt)
    if request.scope.get(STREAMING_SCOPE_KEY):
        return StreamingResponse(chunks, media_type=_MEDIA[fmt], headers=headers)
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > max_bytes:
            reason = (f"the export is larger than the {max_bytes} bytes a buffered response may carry (Lambda "
                      "answers at most 6 MB): narrow the date range (from/to) or filter by bot_profile_id")
            raise PayloadTooLarge(f"export too large: {reason}", details=field_details("from", reason))
    return Response(bytes(body), media_type=_MEDIA[fmt], headers=headers)


FormatQuery = Annotated[ExportFormat, Query(alias="format", description="json (an array), jsonl or csv")]
FromQuery = Annotated[date | None, Query(alias="from", description="first UTC day of the messages, YYYY-MM-DD")]
ToQuery = Annotated[date | None, Query(alias="to", description="last UTC day (inclusive), YYYY-MM-DD")]


@router.get("/v1/chat/export", response_class=Response,
            responses={200: {"content": {m: {} for m in _MEDIA.values()},
                             "description": "a download: one row per message, oldest first"},
                       413: {"description": "buffered (Lambda) response over EXPORT_MAX_BYTES: narrow the range"}})
def export_chats(request: Request, service: ChatHistoryServiceDep, settings: SettingsDep, fmt: FormatQuery = "json",
                 start: FromQuery = None, end: ToQuery = None,
                 bot_profile_id: Annotated[uuid.UUID | None, Query(description="only this bot's chats")] = None,
                 ) -> Response:
    """Every message of the tenant's chats (with its chat's id, title and bot), oldest first, for
    the UTC days `from`..`to` and one bot if given. Fields: chat_id, chat_title, bot_profile_id,
    message_id, role, content, model, prompt_tokens, completion_tokens, feedback, feedback_comment,
    error, created_at."""
    query = ExportChats(start=start, end=end, bot_profile_id=bot_profile_id)
    service.check_export(query)
    name = f"chats-{start.isoformat() if start else 'all'}-{end.isoformat() if end else 'now'}"
    return _export_response(request, service.export_rows(query), fmt, name, settings.export_max_bytes)


@router.get("/v1/chat/{id}/export", response_class=Response,
            responses={200: {"content": {m: {} for m in _MEDIA.values()}, "description": "the chat's messages"},
                       413: {"description": "buffered (Lambda) response over EXPORT_MAX_BYTES"}})
def export_chat(id: uuid.UUID, request: Request, service: ChatHistoryServiceDep, settings: SettingsDep,
                fmt: FormatQuery = "json") -> Response:
    """One chat's messages, oldest first, in the same rows as GET /v1/chat/export."""
    query = ExportChats(chat_id=id)
    service.check_export(query)
    return _export_response(request, service.export_rows(query), fmt, f"chat-{id}", settings.export_max_bytes)


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
def retrieve(body: RetrieveRequest, service: ChatServiceDep, principal: PrincipalDep) -> RetrieveResponse:
    """Ranked chunks for a query, without calling a language model."""
    principal.require_bot(body.bot_profile_id)  # a publishable key retrieves from its own bot only
    outcome = service.retrieve(Retrieve(bot_profile_id=body.bot_profile_id, query=body.query, top_k=body.top_k,
                                        mode=body.mode, min_score=body.min_score, filter=body.filter,
                                        group_by=body.group_by))
    return RetrieveResponse(data=[RetrievedChunkPublic.model_validate(c, from_attributes=True)
                                  for c in outcome.chunks], warnings=outcome.warnings)
