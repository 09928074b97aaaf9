"""What a model call returns (`Completion`, `Reranking`) and the gateway's internal retry marker, in a module
of their own so the gateway and its stream reader share them without importing each other."""

from __future__ import annotations

from dataclasses import dataclass

from minirag.errors import AppError


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float | None
    finish_reason: str | None = None


@dataclass(frozen=True)
class RerankHit:
    """One reranked document: its position in the input list and the reranker's relevance score."""

    index: int
    relevance_score: float


@dataclass(frozen=True)
class Reranking:
    """A rerank call's answer, best first; `search_units` is what the provider billed (Cohere's
    unit, None when it does not say), `cost` USD from LiteLLM (None when unpriced)."""

    model: str
    hits: tuple[RerankHit, ...]
    search_units: int | None
    total_tokens: int
    cost: float | None


@dataclass(frozen=True)
class Retryable:
    """The gateway's marker: the wrapped AppError may succeed on another attempt."""

    error: AppError
    retry_after: float | None
