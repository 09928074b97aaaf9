"""The model gateway as the services see it: a minimal structural type, so a service says what it
calls without importing LiteLLM (`minirag.llm.gateway.LLMGateway` is the real one; tests pass fakes)."""

from __future__ import annotations

from typing import Iterator, Literal, Protocol, Sequence


class ModelCompletion(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...
    @property
    def cost(self) -> float | None: ...


class ModelRerankHit(Protocol):
    @property
    def index(self) -> int: ...
    @property
    def relevance_score(self) -> float: ...


class ModelReranking(Protocol):
    @property
    def model(self) -> str: ...
    @property
    def hits(self) -> Sequence[ModelRerankHit]: ...
    @property
    def search_units(self) -> int | None: ...
    @property
    def total_tokens(self) -> int: ...
    @property
    def cost(self) -> float | None: ...


class ModelStream(Protocol):
    """Text deltas as the model writes; `result` once the iteration is over."""

    def __iter__(self) -> Iterator[str]: ...
    @property
    def result(self) -> ModelCompletion: ...


class ModelGateway(Protocol):
    def complete(self, messages: list[dict], *, model: str, temperature: float, max_tokens: int,
                 api_key: str | None = None, timeout: float = 60) -> ModelCompletion: ...

    def stream(self, messages: list[dict], *, model: str, temperature: float, max_tokens: int,
               api_key: str | None = None, timeout: float = 60) -> ModelStream: ...

    def embed(self, texts: list[str], *, model: str, api_key: str | None = None,
              input_type: Literal["query", "document"] | None = None) -> list[list[float]]: ...

    def rerank(self, query: str, documents: list[str], *, model: str, top_n: int, api_key: str | None = None,
               timeout: float = 30) -> ModelReranking: ...
