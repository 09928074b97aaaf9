"""Model prices from LiteLLM's own cost map, without importing LiteLLM.

Why not `litellm.cost_per_token`: importing LiteLLM takes seconds of cold start and ~350 MB, and the
Stats function is a zip function on the shared layer, which has no LiteLLM. The map LiteLLM uses
offline (`model_prices_and_context_window_backup.json`, shipped inside the pinned wheel) is plain
JSON, so it is read directly, once per process, on the first lookup (~30 ms for 3.4 MB):

1. `minirag/llm/model_prices.json` next to this module: the layer build (shared/Makefile) extracts it
   from the pinned LiteLLM wheel (tests/unit/llm/test_pricing.py keeps that pin equal to pyproject's);
2. else the installed LiteLLM's copy, located with `importlib.util.find_spec` (finds the package
   directory without executing it): tests, the local runner and the LiteLLM images.

Offline models (`local/...`) cost 0; a model the map does not know is `unknown` (no price is made up)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal

from minirag.llm.model_policy import LOCAL_PREFIX

LITELLM_MAP_NAME = "model_prices_and_context_window_backup.json"
LAYER_COPY = Path(__file__).with_name("model_prices.json")
PricingKind = Literal["litellm", "offline", "unknown"]


@dataclass(frozen=True)
class ModelPrice:
    model: str
    pricing: PricingKind
    prompt_per_token: float | None
    completion_per_token: float | None
    per_request: float = 0.0  # rerank models (`input_cost_per_query`): USD per call

    @property
    def prompt_per_1m(self) -> float | None:
        return None if self.prompt_per_token is None else self.prompt_per_token * 1_000_000

    @property
    def completion_per_1m(self) -> float | None:
        return None if self.completion_per_token is None else self.completion_per_token * 1_000_000

    def cost(self, prompt_tokens: int, completion_tokens: int, requests: int = 0) -> float | None:
        """USD for these tokens (and calls, for models priced per call); None when the price is unknown.
        A rerank call of up to 100 documents is one Cohere search unit, so one call is one query."""
        if self.prompt_per_token is None or self.completion_per_token is None:
            return None
        return (prompt_tokens * self.prompt_per_token + completion_tokens * self.completion_per_token
                + requests * self.per_request)


class ModelPricing:
    """Per-token prices by model name (the port the stats service takes)."""

    def __init__(self, entries: dict[str, Any], source: str) -> None:
        self._entries = entries
        self.source = source

    @staticmethod
    def default_candidates() -> list[Path]:
        candidates = [LAYER_COPY]
        spec = find_spec("litellm")
        if spec is not None and spec.origin:
            candidates.append(Path(spec.origin).parent / LITELLM_MAP_NAME)
        return candidates

    @classmethod
    def load(cls, candidates: list[Path] | None = None) -> ModelPricing:
        for path in candidates if candidates is not None else cls.default_candidates():
            if path.is_file():
                return cls(json.loads(path.read_text(encoding="utf-8")), _source(path))
        return cls({}, "none (LiteLLM's cost map not found: every hosted model is unknown)")

    def price(self, model: str) -> ModelPrice:
        if model.startswith(LOCAL_PREFIX):
            return ModelPrice(model, "offline", 0.0, 0.0)
        entry = self._entry(model)
        if entry is None:
            return ModelPrice(model, "unknown", None, None)
        return ModelPrice(model, "litellm", float(entry["input_cost_per_token"]),
                          float(entry.get("output_cost_per_token") or 0.0),
                          float(entry.get("input_cost_per_query") or 0.0))

    def _entry(self, model: str) -> dict[str, Any] | None:
        """The exact name, else without its `provider/` prefix (LiteLLM keys OpenAI's models bare)."""
        for name in (model, model.partition("/")[2]):
            entry = self._entries.get(name) if name and name != "sample_spec" else None
            if isinstance(entry, dict) and isinstance(entry.get("input_cost_per_token"), (int, float)):
                return entry
        return None


def _source(path: Path) -> str:
    version_file = path.with_suffix(".version")
    if path == LAYER_COPY and version_file.is_file():
        return f"litellm {version_file.read_text().strip()} model cost map"
    try:
        return f"litellm {metadata.version('litellm')} model cost map"
    except metadata.PackageNotFoundError:
        return "litellm model cost map"


@lru_cache(maxsize=1)
def get_pricing() -> ModelPricing:
    """The process's price map, read on first use (not at import: cold starts stay short)."""
    return ModelPricing.load()
