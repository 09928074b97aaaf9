"""`LLMGateway`: the one place the code base calls LiteLLM.

Why one place: retries, error mapping and usage/cost accounting must be identical for every
provider, offline ``local/...`` models included, and LiteLLM's 2.4 s import must happen only when
a model is actually called (constructing a gateway is free; cold starts of functions that never
call a model do not pay for it).

Errors leave as `minirag.errors` only: `RateLimited` (provider throttling, after retries),
`ProviderRejected` (not retryable) with code ``provider_auth_failed`` (bad provider key),
``provider_rejected_request`` (the provider refused the request as such),
``offline_model_unavailable`` (a ``local/`` model's files are missing or altered) or the default
``upstream_unavailable`` (connection, timeout, 5xx, after retries). Messages name the model,
never the key, and never carry provider text.

Before any call the model passes the deployment's `ModelPolicy` with the provider LiteLLM itself
resolves (`ModelNotAllowed`, 422, otherwise), and a provider the operator gave an endpoint is
called at that api_base and no other: no path can send a prompt, passages or a key where the
operator did not. ``api_key`` is always the tenant's own key; None means the platform's
credentials serve the call (its environment, and ``platform_embedding_key`` for embeddings).
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from types import ModuleType
from typing import Any, Literal

from minirag.errors import AppError, ProviderRejected, RateLimited, UpstreamUnavailable
from minirag.llm.model_policy import HOSTED_PROVIDERS, PLATFORM_CREDENTIAL_PROVIDERS, ModelNotAllowed, ModelPolicy
from minirag.llm.results import Completion, RerankHit, Reranking, Retryable
from minirag.llm.streaming import CompletionStream
from minirag.settings import get_settings
from minirag.storable import storable_text

log = logging.getLogger(__name__)

LOCAL_PREFIX = "local/"
EmbeddingInput = Literal["query", "document"]

_litellm: ModuleType | None = None
_litellm_lock = threading.Lock()


def _load_litellm(models_dir: str | None) -> ModuleType:
    """Import LiteLLM once per process, after registering the offline providers."""
    global _litellm
    from minirag.llm.offline import register_offline_providers

    with _litellm_lock:
        register_offline_providers(models_dir)
        if _litellm is None:
            import litellm

            litellm.suppress_debug_info = True  # no "Give Feedback" banners on stdout
            _litellm = litellm
        return _litellm


def _redact(text: str, api_key: str | None) -> str:
    if api_key:
        text = text.replace(api_key, "***")
    return re.sub(r"\b(sk|key|pk)-[A-Za-z0-9_\-]{6,}", r"\1-***", text)


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    try:
        value = headers.get("retry-after") if headers is not None else None
        return float(value) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


def _caused_by_offline_model_files(exc: BaseException) -> bool:
    from minirag.llm.offline import ModelFileError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ModelFileError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class LLMGateway:
    """Embeddings and chat completions through LiteLLM with one retry and error policy.

    ``max_attempts`` counts the first try. Backoff is exponential with "equal jitter"
    (half fixed, half random) capped at ``max_delay``, and honours a provider's Retry-After
    when it is not longer than ``max_delay``. ``sleep`` is injectable so tests do not wait.
    ``models_dir`` is where ``local/minilm`` finds its optimised copy (written once by
    `bench/prepare_minilm.py`), read before its first use in the process.
    """

    def __init__(
        self,
        *,
        models_dir: str | None = None,
        max_attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        policy: ModelPolicy | None = None,
        platform_embedding_key: str | None = None,
    ) -> None:
        self.models_dir = models_dir
        self.policy = policy or ModelPolicy()
        self._platform_embedding_key = platform_embedding_key
        self._providers: dict[str, str | None] = {}
        self.max_attempts = max(1, max_attempts)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._sleep = sleep
        self._random = random.Random()

    # ---- plumbing ---------------------------------------------------------------------------

    def _litellm(self) -> ModuleType:
        return _load_litellm(self.models_dir)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        delay = backoff / 2 + self._random.uniform(0, backoff / 2)
        if retry_after is not None and retry_after <= self.max_delay:
            delay = max(delay, retry_after)
        return delay

    def _translate(self, exc: Exception, *, model: str, api_key: str | None) -> AppError | Retryable | None:
        """Map a LiteLLM/provider exception to a client-safe AppError (or None: not ours)."""
        import openai

        litellm = self._litellm()
        log.warning(
            "model call failed: model=%s error=%s status=%s detail=%s",
            model,
            type(exc).__name__,
            getattr(exc, "status_code", None),
            _redact(str(exc), api_key)[:500],
        )
        if _caused_by_offline_model_files(exc):
            return ProviderRejected(
                f"The offline model '{model}' is not installed correctly on this deployment.",
                code="offline_model_unavailable",
            )
        if isinstance(exc, openai.RateLimitError):
            return Retryable(
                RateLimited(
                    f"The model provider is rate limiting requests for model '{model}'; retry later."
                ),
                _retry_after(exc),
            )
        if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return ProviderRejected(
                f"The model provider rejected the credentials for model '{model}'; "
                "check the bot's provider key.",
                code="provider_auth_failed",
            )
        if isinstance(exc, litellm.ContextWindowExceededError):
            return ProviderRejected(
                f"The request is too long for model '{model}'.", code="provider_rejected_request"
            )
        if isinstance(exc, litellm.ContentPolicyViolationError):
            return ProviderRejected(
                f"The model provider refused the content for model '{model}'.",
                code="provider_rejected_request",
            )
        if isinstance(exc, openai.NotFoundError):
            return ProviderRejected(
                f"The model provider does not know model '{model}'; check the bot's model name.",
                code="provider_rejected_request",
            )
        if isinstance(exc, (openai.BadRequestError, openai.UnprocessableEntityError)):
            return ProviderRejected(
                f"The model provider rejected the request for model '{model}'.",
                code="provider_rejected_request",
            )
        if isinstance(exc, openai.APITimeoutError):
            return Retryable(
                UpstreamUnavailable(f"The model provider timed out for model '{model}'; retry later."), None
            )
        if isinstance(exc, openai.APIStatusError) and 400 <= exc.status_code < 500:
            return ProviderRejected(
                f"The model provider rejected the request for model '{model}'.",
                code="provider_rejected_request",
            )
        if isinstance(exc, openai.OpenAIError):  # connection errors, 5xx, unclassified API errors
            return Retryable(
                UpstreamUnavailable(f"The model provider is unavailable for model '{model}'; retry later."),
                _retry_after(exc),
            )
        return None

    def _provider(self, model: str) -> str | None:
        """The provider LiteLLM will call for `model` (None: it cannot tell)."""
        if model not in self._providers:
            try:
                self._providers[model] = str(self._litellm().get_llm_provider(model)[1])
            except Exception:
                self._providers[model] = None
        return self._providers[model]

    def _route(self, model: str, api_key: str | None, field: str) -> dict[str, Any]:
        """The policy check of every call; the operator's api_base when the provider has one."""
        if model.startswith(LOCAL_PREFIX):
            return {}
        provider = self._provider(model)
        if provider is None:
            raise ModelNotAllowed(field, f"'{model}' names no provider LiteLLM knows; write it as provider/model")
        api_base = self.policy.authorize(model, tenant_key=api_key is not None, provider=provider, field=field)
        return {"api_base": api_base} if api_base else {}

    def _priced(self, model: str) -> bool:
        """Price and token lookups only for catalogued providers: LiteLLM asks a self-hosted server
        (ollama's /api/show at its default host) for the others' metadata."""
        if model.startswith(LOCAL_PREFIX):
            return False
        provider = self._provider(model)
        return provider in HOSTED_PROVIDERS or provider in PLATFORM_CREDENTIAL_PROVIDERS

    def _call(self, fn: Callable[..., Any], *, model: str, api_key: str | None, field: str = "model",
              platform_key: str | None = None, **kwargs: Any) -> Any:
        if kwargs.keys() & {"api_base", "base_url", "api_version"}:
            raise ValueError("endpoints come from MODEL_ENDPOINTS only, never from a caller")
        route = self._route(model, api_key, field)
        key = api_key if api_key is not None else platform_key
        for attempt in range(1, self.max_attempts + 1):
            try:
                return fn(model=model, **self._auth(key), **route, **kwargs)
            except AppError:
                raise
            except Exception as exc:
                outcome = self._translate(exc, model=model, api_key=key)
                if outcome is None:
                    raise
                if not isinstance(outcome, Retryable):
                    raise outcome from None
                if attempt == self.max_attempts:
                    raise outcome.error from None
                self._sleep(self._delay(attempt, outcome.retry_after))
        raise AssertionError("unreachable")

    @staticmethod
    def _auth(api_key: str | None) -> dict[str, Any]:
        # max_retries=0: the gateway owns retries (the OpenAI SDK would otherwise retry too).
        extra: dict[str, Any] = {"max_retries": 0}
        if api_key:
            extra["api_key"] = api_key
        return extra

    # ---- embeddings -------------------------------------------------------------------------

    @staticmethod
    def _vectors(response: Any, expected: int, model: str, mocked: bool) -> list[list[float]]:
        items = sorted(response.data, key=lambda item: item["index"])
        vectors = [list(item["embedding"]) for item in items]
        if mocked and len(vectors) == 1 and expected > 1:
            vectors = vectors * expected  # LiteLLM's mock_response embedding returns one vector
        if len(vectors) != expected:
            raise UpstreamUnavailable(
                f"The embedding model '{model}' returned {len(vectors)} vectors for {expected} inputs."
            )
        return vectors

    def embed(
        self,
        texts: list[str],
        *,
        model: str,
        api_key: str | None = None,
        batch_size: int = 64,
        timeout: float = 60,
        input_type: EmbeddingInput | None = None,
        **kwargs: Any,
    ) -> list[list[float]]:
        """One vector per text, in order; ``batch_size`` texts per provider call.

        ``input_type`` says what the texts are, ``"document"`` (what is stored) or ``"query"``
        (what is searched with), for models that embed the two differently (``local/e5-small``
        adds e5's ``passage: ``/``query: ``). It reaches ``local/`` models only, as LiteLLM's
        ``input_type`` parameter; unsaid means a query. Symmetric models ignore it."""
        if not texts:
            return []
        if input_type is not None and model.startswith(LOCAL_PREFIX):
            kwargs["input_type"] = input_type
        litellm = self._litellm()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            response = self._call(
                litellm.embedding, model=model, api_key=api_key, field="embedding_model",
                platform_key=self._platform_embedding_key, input=batch, timeout=timeout, **kwargs
            )
            vectors += self._vectors(response, len(batch), model, "mock_response" in kwargs)
        return vectors

    # ---- chat -------------------------------------------------------------------------------

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD cost from LiteLLM's bundled price map; None for offline or unpriced models."""
        if not self._priced(model):
            return None
        try:
            prompt_cost, completion_cost = self._litellm().cost_per_token(
                model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
            )
            return float(prompt_cost + completion_cost)
        except Exception:
            return None

    def _completion(self, response: Any, model: str) -> Completion:
        choice = response.choices[0]
        usage = getattr(response, "usage", None)
        text = storable_text(choice.message.content or "")  # a paid answer must not fail to save
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        cost: float | None = None
        if self._priced(model):
            try:
                cost = float(self._litellm().completion_cost(completion_response=response))
            except Exception:
                cost = self.cost(model, prompt_tokens, completion_tokens)
        return Completion(
            text=text,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=int(getattr(usage, "total_tokens", 0) or prompt_tokens + completion_tokens),
            cost=cost,
            finish_reason=getattr(choice, "finish_reason", None),
        )

    @staticmethod
    def _chat_args(temperature: float, max_tokens: int, timeout: float) -> dict[str, Any]:
        # drop_params: providers that refuse a parameter (e.g. temperature on reasoning models)
        # get the call without it instead of failing every chat for that bot.
        return {"temperature": temperature, "max_tokens": max_tokens, "timeout": timeout, "drop_params": True}

    def complete(
        self,
        messages: list[dict],
        *,
        model: str,
        temperature: float,
        max_tokens: int,
        api_key: str | None = None,
        timeout: float = 60,
        **kwargs: Any,
    ) -> Completion:
        litellm = self._litellm()
        response = self._call(
            litellm.completion,
            model=model,
            api_key=api_key,
            messages=messages,
            **self._chat_args(temperature, max_tokens, timeout),
            **kwargs,
        )
        return self._completion(response, model)

    def stream(
        self,
        messages: list[dict],
        *,
        model: str,
        temperature: float,
        max_tokens: int,
        api_key: str | None = None,
        timeout: float = 60,
        **kwargs: Any,
    ) -> CompletionStream:
        """Start a streamed completion (retried until the first byte); iterate for text deltas."""
        litellm = self._litellm()
        chunks = self._call(
            litellm.completion,
            model=model,
            api_key=api_key,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            **self._chat_args(temperature, max_tokens, timeout),
            **kwargs,
        )
        return CompletionStream(self, chunks, model=model, messages=messages, api_key=api_key)


    # ---- reranking --------------------------------------------------------------------------

    def rerank(self, query: str, documents: list[str], *, model: str, top_n: int, api_key: str | None = None,
               timeout: float = 30) -> Reranking:
        """`documents` ordered by a LiteLLM rerank model (Cohere, Jina, Voyage, Bedrock, ...), best
        first, at most `top_n`. The same policy, endpoint, key and retry rules as a completion: the
        bot's `rerank_model` field is named when the policy refuses it."""
        if not documents:
            return Reranking(model=model, hits=(), search_units=None, total_tokens=0, cost=None)
        if model.startswith(LOCAL_PREFIX):
            raise ModelNotAllowed("rerank_model", "no offline reranker ships with this deployment; "
                                                  "name a LiteLLM rerank model such as cohere/rerank-v3.5")
        litellm = self._litellm()
        response = self._call(litellm.rerank, model=model, api_key=api_key, field="rerank_model", query=query,
                              documents=list(documents), top_n=min(top_n, len(documents)),
                              return_documents=False, timeout=timeout)
        hits: list[RerankHit] = []
        for item in getattr(response, "results", None) or []:
            index, score = item.get("index"), item.get("relevance_score")
            if isinstance(index, int) and 0 <= index < len(documents) and isinstance(score, (int, float)):
                hits.append(RerankHit(index=index, relevance_score=float(score)))
        if not hits:
            raise UpstreamUnavailable(f"The rerank model '{model}' returned no results.")
        hits.sort(key=lambda hit: -hit.relevance_score)
        billed = ((getattr(response, "meta", None) or {}).get("billed_units") or {})
        units = billed.get("search_units")
        return Reranking(model=model, hits=tuple(hits[:top_n]),
                         search_units=int(units) if isinstance(units, (int, float)) else None,
                         total_tokens=int(billed.get("total_tokens") or 0), cost=self._rerank_cost(response, model))

    def _rerank_cost(self, response: Any, model: str) -> float | None:
        """LiteLLM's own price for the call (per query or search unit, from its bundled map)."""
        if not self._priced(model):
            return None
        cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
        try:
            if cost is None:
                cost = self._litellm().completion_cost(completion_response=response, call_type="rerank", model=model)
            return float(cost)
        except Exception:
            return None


@lru_cache(maxsize=1)
def get_gateway() -> LLMGateway:
    """The process-wide gateway, configured from settings (LiteLLM itself loads on the first call)."""
    settings = get_settings()
    key = settings.embedding_api_key
    return LLMGateway(models_dir=str((settings.data_dir / "models").resolve()),
                      max_attempts=settings.llm_max_retries + 1, policy=ModelPolicy.from_settings(settings),
                      platform_embedding_key=key.get_secret_value() if key else None)
