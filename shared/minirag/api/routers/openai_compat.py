"""The OpenAI-compatible endpoint: `OpenAI(base_url=".../v1/openai", api_key=<MiniRAG token>)` talks
to a knowledge bot with no new code. `model` is a bot id; the last user message is the question and
the earlier ones its history (no stored chat needed), or `user` / `metadata.chat_id` continue a stored
chat. The turn itself is exactly `/v1/chat`'s (ChatService: retrieval, citations, quotas, usage,
webhooks); this module only translates requests and shapes OpenAI's responses and chunks. Errors
carry OpenAI's `type` and `param` beside MiniRAG's envelope (minirag.api.openai_errors)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Iterator

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from minirag.api.deps import PrincipalDep, ScopeDep
from minirag.api.openai_errors import openai_error_body
from minirag.api.routers.chat import ChatServiceDep
from minirag.api.schemas.openai_compat import ChatCompletion, ChatCompletionRequest, ModelCard, ModelList
from minirag.errors import error_body
from minirag.observability import logger
from minirag.services.chat import AnswerDelta, ChatService, ChatTurn, PreparedTurn, TurnDone
from minirag.services.chat_models import ChatModels
from minirag.services.commands import AskBot

router = APIRouter(tags=["openai"])
OWNED_BY = "minirag"


def ask_command(body: ChatCompletionRequest) -> AskBot:
    """OpenAI's messages as a MiniRAG turn: the last one is the question; earlier user/assistant
    messages are its history; system/developer messages are instructions after the bot's prompt."""
    *earlier, question = body.messages
    history = tuple((m.role, m.text()) for m in earlier if m.role in ("user", "assistant"))
    instructions = "\n\n".join(m.text() for m in body.messages if m.role in ("system", "developer")) or None
    return AskBot(bot_profile_id=body.model, message=question.text(), top_k=body.top_k,
                  chat_id=body.metadata.chat_id if body.metadata else None, end_user=body.user,
                  history=history, instructions=instructions, temperature=body.temperature,
                  max_tokens=body.answer_tokens, filter=body.filter, group_by=body.group_by)


def _completion_id(turn: PreparedTurn | ChatTurn) -> str:
    message_id = turn.user_message_id if isinstance(turn, PreparedTurn) else turn.user_message.id
    return f"chatcmpl-{message_id.hex}"


def _usage(turn: ChatTurn) -> dict[str, int]:
    return {"prompt_tokens": turn.usage.prompt_tokens, "completion_tokens": turn.usage.completion_tokens,
            "total_tokens": turn.usage.total_tokens}


def completion_payload(turn: ChatTurn, model: str) -> dict[str, Any]:
    return {
        "id": _completion_id(turn), "object": "chat.completion",
        "created": int(turn.user_message.created_at.timestamp()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": turn.assistant_message.content},
                     "finish_reason": "stop"}],
        "usage": _usage(turn), "citations": turn.citations, "chat_id": str(turn.chat_id),
    }


def _data(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, default=str)}\n\n".encode()


def completion_chunks(service: ChatService, turn: PreparedTurn, body: ChatCompletionRequest) -> Iterator[bytes]:
    """OpenAI's stream: a role chunk, content deltas, a final chunk (finish_reason, citations,
    chat_id; usage too, or in its own last chunk with `stream_options.include_usage` as OpenAI
    sends it), then `data: [DONE]`. A failure after the start is an `error` chunk, which OpenAI's
    clients raise."""
    base = {"id": _completion_id(turn), "object": "chat.completion.chunk",
            "created": int(turn.received_at.timestamp()), "model": str(body.model)}
    separate_usage = bool(body.stream_options and body.stream_options.include_usage)

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return _data({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    yield chunk({"role": "assistant", "content": ""})
    try:
        for event in service.stream_turn(turn):
            if isinstance(event, AnswerDelta):
                yield chunk({"content": event.text})
            elif isinstance(event, TurnDone):
                done = event.turn
                extra: dict[str, Any] = {"citations": done.citations, "chat_id": str(done.chat_id)}
                if not separate_usage:
                    extra["usage"] = _usage(done)
                yield chunk({}, "stop", **extra)
                if separate_usage:
                    yield _data({**base, "choices": [], "usage": _usage(done)})
            else:
                yield _data(openai_error_body(event.error.status_code, event.error.to_body()))
    except Exception:  # noqa: BLE001 - the status line is already sent
        logger.exception("openai-compatible stream failed")
        yield _data(openai_error_body(500, error_body(
            "internal_error", "internal error; the answer was not completed. Quote the x-request-id "
                              "response header when reporting it")))
    yield b"data: [DONE]\n\n"


@router.post("/v1/openai/chat/completions", response_model=ChatCompletion,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "A chat.completion, or chat.completion.chunk events when stream is true"}})
def create_chat_completion(body: ChatCompletionRequest, service: ChatServiceDep, principal: PrincipalDep) -> Any:
    """OpenAI's Chat Completions on a knowledge bot: `model` is the bot id; the answer cites its
    sources as [n] (the `citations` field lists them), and the turn is stored as a chat
    (`chat_id`). Auth, roles, scopes, quotas and tenant isolation are `/v1/chat`'s."""
    principal.require_bot(body.model)  # a publishable key chats with its own bot only
    command = ask_command(body)
    if body.stream:
        turn = service.prepare_turn(command)  # 4xx before the stream starts
        return StreamingResponse(completion_chunks(service, turn, body), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})
    return ChatCompletion.model_validate(completion_payload(service.ask(command), str(body.model)))


def get_chat_models(scope: ScopeDep) -> ChatModels:
    return ChatModels(scope)


@router.get("/v1/openai/models", response_model=ModelList)
def list_models(models: Annotated[ChatModels, Depends(get_chat_models)], principal: PrincipalDep) -> ModelList:
    """The bots this credential can chat with, as OpenAI models (`id` is the bot id)."""
    bots = models.list(only=principal.bot_profile_id)
    return ModelList(data=[ModelCard(id=str(b.id), created=int(b.created_at.timestamp()), owned_by=OWNED_BY,
                                     name=b.name) for b in bots])
