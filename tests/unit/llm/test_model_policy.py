"""The model policy: who may run which model string, and where (no LiteLLM, no network)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from minirag.llm.model_policy import ModelNotAllowed, ModelPolicy, provider_of
from minirag.settings import Settings


@pytest.mark.parametrize("model, provider", [
    ("gpt-4o-mini", "openai"), ("o3-mini", "openai"), ("text-embedding-3-small", "openai"),
    ("claude-sonnet-4-20250514", "anthropic"), ("Ollama/llama3", "ollama"), ("llama3", None), ("command-r", None),
])
def test_provider_of_parses_prefixes_and_bare_openai_anthropic_names(model, provider) -> None:
    assert provider_of(model) == provider


def test_default_policy_allows_hosted_providers_on_a_tenant_key_and_nothing_on_the_platform() -> None:
    policy = ModelPolicy()
    assert policy.authorize("gpt-4o", tenant_key=True) is None
    assert policy.authorize("anthropic/claude-sonnet-4-20250514", tenant_key=True) is None
    assert policy.authorize("local/extractive", tenant_key=False) is None
    for model, tenant_key in [("gpt-4o", False), ("ollama/llama3", True), ("bedrock/x", True), ("llama3", True)]:
        with pytest.raises(ModelNotAllowed):
            policy.authorize(model, tenant_key=tenant_key, field="model")


def test_platform_credential_providers_never_run_on_a_tenant_key_even_when_listed() -> None:
    policy = ModelPolicy(tenant_providers=frozenset({"bedrock"}), platform_models=("bedrock/*",))
    with pytest.raises(ModelNotAllowed) as caught:
        policy.authorize("bedrock/anthropic.claude-v2", tenant_key=True)
    assert "platform's cloud account" in caught.value.reason
    assert policy.authorize("bedrock/anthropic.claude-v2", tenant_key=False) is None  # the operator's choice


def test_platform_models_match_the_string_or_its_provider_form() -> None:
    policy = ModelPolicy(platform_models=("openai/gpt-4o-mini*",))
    assert policy.on_platform("gpt-4o-mini") and policy.on_platform("openai/gpt-4o-mini-2024-07-18")
    assert not policy.on_platform("gpt-4o") and not policy.on_platform("GPT-4O-MINI")


def test_settings_parse_the_policy_and_refuse_unsafe_entries(monkeypatch) -> None:
    monkeypatch.setenv("MODEL_PROVIDERS", "OpenAI, ollama")
    monkeypatch.setenv("MODEL_ENDPOINTS", '{"ollama": "http://10.0.0.7:11434/"}')
    monkeypatch.setenv("PLATFORM_MODELS", "gpt-4o-mini, local/*")
    settings = Settings()
    assert settings.model_providers == ["openai", "ollama"]
    assert settings.model_endpoints == {"ollama": "http://10.0.0.7:11434"}
    assert settings.platform_models == ["gpt-4o-mini", "local/*"]
    policy = ModelPolicy.from_settings(settings)
    assert policy.authorize("ollama/llama3", tenant_key=True) == "http://10.0.0.7:11434"
    for bad in ({"model_providers": "bedrock"}, {"model_providers": "llamafile"},
                {"model_endpoints": {"ollama": "file:///etc/passwd"}},
                {"model_endpoints": {"ollama": "http://user:pw@host"}}):
        with pytest.raises(ValidationError):
            Settings(**bad)


def test_bot_profile_checks_import_no_litellm() -> None:
    shared = Path(__file__).resolve().parents[3] / "shared"
    code = ("import sys; import minirag.services.bot_profiles, minirag.llm.model_policy; "
            "assert 'litellm' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(shared)})
