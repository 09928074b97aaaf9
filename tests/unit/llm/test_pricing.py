"""The model cost map the stats price usage with: LiteLLM's own bundled map, read as JSON without
importing LiteLLM (seconds of cold start), from the copy the layer build puts next to the module or,
where LiteLLM is installed (tests, images, the local runner), from LiteLLM's package directory."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

import pytest

from minirag.llm.pricing import ModelPricing

ROOT = Path(__file__).resolve().parents[3]
LITELLM_MAP = Path(find_spec("litellm").origin).parent / "model_prices_and_context_window_backup.json"


@pytest.fixture(scope="module")
def pricing() -> ModelPricing:
    return ModelPricing.load()


def test_priced_model_per_token_prices_are_litellms(pricing):
    entry = json.loads(LITELLM_MAP.read_text())["gpt-4o-mini"]
    price = pricing.price("gpt-4o-mini")
    assert price.pricing == "litellm"
    assert price.prompt_per_token == entry["input_cost_per_token"]
    assert price.completion_per_token == entry["output_cost_per_token"]
    assert price.cost(1_000_000, 2_000_000) == pytest.approx(entry["input_cost_per_token"] * 1e6
                                                             + entry["output_cost_per_token"] * 2e6)


def test_provider_prefixed_name_finds_the_bare_entry(pricing):
    prefixed, bare = pricing.price("openai/gpt-4o-mini"), pricing.price("gpt-4o-mini")
    assert (prefixed.pricing, prefixed.prompt_per_token, prefixed.completion_per_token) == \
        (bare.pricing, bare.prompt_per_token, bare.completion_per_token)


def test_offline_models_cost_nothing_and_unknown_ones_say_so(pricing):
    offline = pricing.price("local/extractive")
    unknown = pricing.price("acme/made-up-model")
    assert (offline.pricing, offline.cost(10**6, 10**6), offline.prompt_per_1m) == ("offline", 0.0, 0.0)
    assert (unknown.pricing, unknown.cost(10, 10), unknown.prompt_per_1m) == ("unknown", None, None)
    # sample_spec is the map's documentation entry, not a model
    assert pricing.price("sample_spec").pricing == "unknown"


def test_a_copy_next_to_the_module_is_preferred(tmp_path):
    copy = tmp_path / "model_prices.json"
    copy.write_text(json.dumps({"tiny-model": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}}))
    pricing = ModelPricing.load(candidates=[copy, LITELLM_MAP])
    assert pricing.price("tiny-model").prompt_per_1m == pytest.approx(1.0)
    assert pricing.price("gpt-4o-mini").pricing == "unknown"


def test_pricing_imports_no_litellm():
    script = ("import sys; from minirag.llm.pricing import ModelPricing; "
              "assert ModelPricing.load().price('gpt-4o-mini').pricing == 'litellm'; "
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'litellm'))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ),
                            cwd=str(ROOT), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_layer_build_copies_the_map_of_the_pinned_litellm():
    # Given the version the layer build downloads the map from, pyproject's pin and the installed one
    makefile = (ROOT / "shared" / "Makefile").read_text()
    built = re.search(r"^LITELLM_VERSION\s*:?=\s*(\S+)", makefile, re.M).group(1)
    pins = [r for group in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
            .get("optional-dependencies", {}).values() for r in group if r.startswith("litellm==")]
    pins += [r for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
             if r.startswith("litellm==")]

    # Then all three are the same, and the build puts the file where the loader looks first
    assert pins and {p.split("==")[1] for p in pins} == {built} == {metadata.version("litellm")}
    assert "model_prices_and_context_window_backup.json" in makefile
    assert "minirag/llm/model_prices.json" in makefile
    assert ModelPricing.default_candidates()[0] == ROOT / "shared" / "minirag" / "llm" / "model_prices.json"
