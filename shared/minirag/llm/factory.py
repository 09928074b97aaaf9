"""The process-wide `LLMGateway`, configured from settings (built lazily; LiteLLM itself is imported
only on the first model call)."""

from __future__ import annotations

from functools import lru_cache

from minirag.llm.gateway import LLMGateway
from minirag.settings import get_settings


@lru_cache(maxsize=1)
def get_gateway() -> LLMGateway:
    settings = get_settings()
    return LLMGateway(models_dir=str((settings.data_dir / "models").resolve()),
                      max_attempts=settings.llm_max_retries + 1)
