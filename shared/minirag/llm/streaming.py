"""`CompletionStream`: reads a streamed LiteLLM completion into text deltas and, at its end, one
`Completion` with usage and cost. Kept apart from the gateway, which starts the stream and lends it
its error mapping and pricing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from minirag.errors import AppError
from minirag.llm.results import Completion, Retryable
from minirag.llm.tokens import count_tokens
from minirag.storable import storable_text

if TYPE_CHECKING:
    from minirag.llm.gateway import LLMGateway


class CompletionStream:
    """Iterate for text deltas; after exhaustion ``result`` holds the usage and cost.

    Usage comes from the provider's final chunk (``include_usage``) when it sends one, else it
    is counted with LiteLLM's tokenizer for the model (or a word/punctuation count).
    Errors mid-stream are mapped like any other call but not retried: text was already sent.
    """

    def __init__(
        self,
        gateway: LLMGateway,
        chunks: Any,
        *,
        model: str,
        messages: list[dict],
        api_key: str | None,
    ) -> None:
        self._gateway = gateway
        self._chunks = chunks
        self._model = model
        self._messages = messages
        self._api_key = api_key
        self._parts: list[str] = []
        self._usage: Any = None
        self._finish_reason: str | None = None
        self._result: Completion | None = None
        self._deltas: Iterator[str] | None = None

    def __iter__(self) -> Iterator[str]:
        """The same underlying iterator each time: a second loop continues where one stopped."""
        if self._deltas is None:
            self._deltas = self._read()
        return self._deltas

    def _read(self) -> Iterator[str]:
        try:
            for chunk in self._chunks:
                usage = getattr(chunk, "usage", None)
                if usage is not None and getattr(usage, "total_tokens", None):
                    self._usage = usage
                for choice in getattr(chunk, "choices", None) or []:
                    if getattr(choice, "finish_reason", None):
                        self._finish_reason = choice.finish_reason
                    delta = getattr(getattr(choice, "delta", None), "content", None)
                    if delta:
                        delta = storable_text(delta)  # what is sent is what is kept
                        self._parts.append(delta)
                        yield delta
        except AppError:
            raise
        except Exception as exc:
            outcome = self._gateway._translate(exc, model=self._model, api_key=self._api_key)
            if outcome is None:
                raise
            raise (outcome.error if isinstance(outcome, Retryable) else outcome) from None
        self._result = self._finish()

    def _finish(self) -> Completion:
        text = "".join(self._parts)
        if self._usage is not None:
            prompt_tokens = int(self._usage.prompt_tokens or 0)
            completion_tokens = int(self._usage.completion_tokens or 0)
        else:
            prompt_tokens, completion_tokens = self._count(text)
        return Completion(
            text=text,
            model=self._model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
            cost=self._gateway.cost(self._model, prompt_tokens, completion_tokens),
            finish_reason=self._finish_reason,
        )

    def _count(self, text: str) -> tuple[int, int]:
        if self._gateway._priced(self._model):
            try:
                litellm = self._gateway._litellm()
                return (
                    int(litellm.token_counter(model=self._model, messages=self._messages)),
                    int(litellm.token_counter(model=self._model, text=text)),
                )
            except Exception:
                pass
        prompt = " ".join(str(m.get("content") or "") for m in self._messages)
        return count_tokens(prompt), count_tokens(text)

    @property
    def result(self) -> Completion:
        if self._result is None:
            raise RuntimeError("the stream has not been read to the end yet")
        return self._result
