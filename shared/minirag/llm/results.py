"""What a model call returns (`Completion`) and the gateway's internal retry marker, in a module
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
class Retryable:
    """The gateway's marker: the wrapped AppError may succeed on another attempt."""

    error: AppError
    retry_after: float | None
