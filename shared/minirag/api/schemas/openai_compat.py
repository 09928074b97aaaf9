"""The OpenAI-compatible chat endpoint's wire shapes: the subset of OpenAI's Chat Completions request
a knowledge bot can honour, and its responses. Parameters OpenAI defines that a bot cannot honour
(tools, n > 1, logprobs, ...) are refused by name, and so are unknown ones, as OpenAI does, rather
than silently ignored."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from minirag.api.schemas.chat import MAX_MESSAGE_CHARS
from minirag.api.schemas.common import PublicModel, StrictModel
from minirag.api.schemas.filters import RetrievalFilter

# Parameters of OpenAI's Chat Completions a knowledge bot does not offer: each is a 400 naming it.
UNSUPPORTED_PARAMETERS: dict[str, str] = {
    "tools": "tool calling is not offered by knowledge bots",
    "tool_choice": "tool calling is not offered by knowledge bots",
    "functions": "function calling is not offered by knowledge bots",
    "function_call": "function calling is not offered by knowledge bots",
    "parallel_tool_calls": "tool calling is not offered by knowledge bots",
    "logprobs": "log probabilities are not returned",
    "top_logprobs": "log probabilities are not returned",
    "logit_bias": "logit bias is not supported",
    "response_format": "structured output is not supported: answers are text with [n] citations",
    "audio": "audio output is not supported",
    "modalities": "only text output is supported",
    "prediction": "predicted outputs are not supported",
    "stop": "stop sequences are not supported",
    "top_p": "nucleus sampling is not offered: set temperature",
    "frequency_penalty": "penalties are not supported",
    "presence_penalty": "penalties are not supported",
    "seed": "seeded sampling is not supported",
    "service_tier": "service tiers are not offered",
    "store": "OpenAI-side storage does not apply: MiniRAG stores the chat itself",
    "reasoning_effort": "reasoning options are not offered",
    "web_search_options": "web search is not offered: answers come from the bot's sources",
}
MAX_MESSAGES = 200


class OpenAIRequestModel(StrictModel):
    pass


def _refusal(model: str, field: str, kind: str, reason: str) -> ValidationError:
    """A validation error located at `field` (so the 400 names it as OpenAI's `param`)."""
    return ValidationError.from_exception_data(model, [InitErrorDetails(
        type=PydanticCustomError(kind, reason), loc=(field,), input=None)])


class TextPart(OpenAIRequestModel):
    type: Literal["text"]
    text: str = Field(max_length=MAX_MESSAGE_CHARS)


class ChatCompletionMessage(OpenAIRequestModel):
    role: Literal["system", "developer", "user", "assistant"] = Field(
        description="system/developer messages add instructions after the bot's own prompt")
    content: str | list[TextPart] = Field(description="text, or a list of text parts (concatenated)")
    name: str | None = Field(default=None, max_length=64, description="accepted and ignored")

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)

    @field_validator("content")
    @classmethod
    def _bounded(cls, value: str | list[TextPart]) -> str | list[TextPart]:
        size = len(value) if isinstance(value, str) else sum(len(p.text) for p in value)
        if size > MAX_MESSAGE_CHARS:
            raise ValueError(f"should have at most {MAX_MESSAGE_CHARS} characters")
        return value


class StreamOptions(OpenAIRequestModel):
    include_usage: bool = False


class ChatCompletionMetadata(OpenAIRequestModel):
    chat_id: uuid.UUID | None = Field(default=None, description="continue this stored MiniRAG chat")


class ChatCompletionRequest(OpenAIRequestModel):
    model: uuid.UUID = Field(description="the bot's id (GET /v1/openai/models lists them)")
    messages: list[ChatCompletionMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2, description="overrides the bot's")
    max_tokens: int | None = Field(default=None, ge=1, description="at most the bot's max_tokens")
    max_completion_tokens: int | None = Field(default=None, ge=1, description="the same as max_tokens")
    n: int | None = Field(default=None, ge=1, description="only 1 (one answer per request)")
    user: str | None = Field(default=None, min_length=1, max_length=256,
                             description="an end-user id: their turns continue one stored chat per bot")
    metadata: ChatCompletionMetadata | None = None
    top_k: int | None = Field(default=None, ge=1, le=50, description="MiniRAG: chunks to retrieve")
    filter: RetrievalFilter | None = Field(default=None, description="MiniRAG: a metadata filter on retrieval "
                                           "(OpenAI's clients send it with extra_body)")
    group_by: Literal["document"] | None = Field(default=None, description="MiniRAG: cite each document once")

    @model_validator(mode="before")
    @classmethod
    def _refuse_unsupported(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, reason in UNSUPPORTED_PARAMETERS.items():
                if data.get(name) not in (None, False):
                    raise _refusal(cls.__name__, name, "unsupported_parameter", f"unsupported parameter: {reason}")
            if data.get("n") not in (None, 1):
                raise _refusal(cls.__name__, "n", "unsupported_parameter",
                               "unsupported parameter: only n = 1 (one answer per request)")
        return data

    @model_validator(mode="after")
    def _ends_with_a_question(self) -> "ChatCompletionRequest":
        if self.messages[-1].role != "user" or not self.messages[-1].text().strip():
            raise _refusal(type(self).__name__, "messages", "invalid_messages",
                           "the last message must be the user's question, with text")
        if self.max_tokens is not None and self.max_completion_tokens is not None:
            raise _refusal(type(self).__name__, "max_tokens", "invalid_value",
                           "send max_tokens or max_completion_tokens, not both")
        return self

    @property
    def answer_tokens(self) -> int | None:
        return self.max_tokens if self.max_tokens is not None else self.max_completion_tokens


# -- responses ---------------------------------------------------------------------------------------

class CompletionUsage(PublicModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(PublicModel):
    role: Literal["assistant"] = "assistant"
    content: str


class CompletionChoice(PublicModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"] = "stop"


class ChatCompletion(PublicModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: CompletionUsage
    citations: list[dict[str, Any]] = Field(description="MiniRAG: the sources the [n] markers point to")
    chat_id: str = Field(description="MiniRAG: the stored chat (metadata.chat_id continues it)")


class ModelCard(PublicModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    name: str = Field(description="MiniRAG: the bot's name")


class ModelList(PublicModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
