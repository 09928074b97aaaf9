"""Which model strings may run, on whose credentials, and at which endpoint.

A LiteLLM model string picks a provider and the provider picks the host: several self-hosted
providers default to loopback (``ollama/*`` → localhost:11434, ``llamafile/*`` → 127.0.0.1:8080,
``lemonade/*`` → localhost:8000, …), and cloud providers such as bedrock, vertex_ai or azure
authenticate with the platform's own environment. A bot's ``model`` is written by a tenant, so:

- ``local/*`` (offline, in this process, no network) is always allowed;
- on the bot's own key, the provider must be in MODEL_PROVIDERS (by default hosted providers at
  fixed public endpoints); providers that sign with the platform's cloud account never are;
- on the platform's credentials (a bot without a key) the model must match PLATFORM_MODELS;
- a provider that is not a known hosted one runs only at the api_base the operator vetted in
  MODEL_ENDPOINTS; a tenant can never name an endpoint.

No LiteLLM here: bot-profile CRUD checks with this module and stays light on cold start, so bare
names are classified by their OpenAI/Anthropic families. The gateway calls `authorize` again with
the provider LiteLLM itself resolves, so what runs is what was checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from minirag.errors import InvalidInput

if TYPE_CHECKING:
    from minirag.settings import Settings

LOCAL_PREFIX = "local/"

# Hosted at a fixed public endpoint, authenticated by the caller's key alone.
DEFAULT_MODEL_PROVIDERS = (
    "openai", "anthropic", "gemini", "mistral", "cohere", "cohere_chat", "groq", "deepseek", "together_ai",
    "fireworks_ai", "perplexity", "xai", "openrouter", "voyage", "deepinfra", "cerebras", "jina_ai",
)
HOSTED_PROVIDERS = frozenset(DEFAULT_MODEL_PROVIDERS) | {
    "text-completion-openai", "codestral", "nvidia_nim", "sambanova", "ai21", "ai21_chat", "moonshot", "nebius",
}
# Authenticate with the platform's environment (cloud roles, service accounts, env endpoints): a
# tenant's key cannot make them spend only the tenant's money.
PLATFORM_CREDENTIAL_PROVIDERS = frozenset({
    "bedrock", "bedrock_mantle", "amazon_nova", "sagemaker", "sagemaker_chat", "sagemaker_nova", "aws_polly",
    "aws_textract", "s3_vectors", "vertex_ai", "vertex_ai_beta", "azure", "azure_ai", "azure_text", "azure_speech",
    "watsonx", "watsonx_text", "oci", "snowflake", "databricks", "databricks_agent", "cloudflare", "sap",
    "github_copilot", "chatgpt",
})
_OPENAI_FAMILY = re.compile(
    r"^(gpt-|chatgpt-|o\d+(-|$)|text-embedding-|omni-moderation|text-moderation|davinci|babbage)")
_ANTHROPIC_FAMILY = re.compile(r"^claude-")


class ModelNotAllowed(InvalidInput):
    """The deployment's model policy refuses this model (at create/update, or at call time)."""

    code = "model_not_allowed"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason, code=self.code)


def provider_of(model: str) -> str | None:
    """The provider a model string names: its ``provider/`` prefix, or OpenAI/Anthropic by family."""
    prefix, slash, _ = model.partition("/")
    if slash:
        return prefix.lower()
    if _OPENAI_FAMILY.match(model):
        return "openai"
    if _ANTHROPIC_FAMILY.match(model):
        return "anthropic"
    return None


def is_hosted(model: str) -> bool:
    """A model of a known hosted provider: metadata lookups about it cannot reach a private host."""
    return provider_of(model) in HOSTED_PROVIDERS


def endpoint_url(value: str) -> str:
    """An operator's api_base, checked: an absolute http(s) URL with a host (no trailing slash)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise ValueError(f"{value!r} is not an http(s) URL with a host (and no credentials)")
    return value.strip().rstrip("/")


def check_model_settings(providers: Iterable[str], endpoints: Mapping[str, str]) -> None:
    """Refuse a MODEL_PROVIDERS entry a tenant's key cannot safely use (raises ValueError)."""
    for provider in providers:
        if provider in PLATFORM_CREDENTIAL_PROVIDERS:
            raise ValueError(f"MODEL_PROVIDERS: '{provider}' signs with the platform's cloud credentials; "
                             "list its models in PLATFORM_MODELS instead")
        if provider not in HOSTED_PROVIDERS and provider not in endpoints:
            raise ValueError(f"MODEL_PROVIDERS: '{provider}' is not a known hosted provider; "
                             "give it a vetted api_base in MODEL_ENDPOINTS")


@dataclass(frozen=True)
class ModelPolicy:
    """The operator's rule for model strings (the default: hosted providers on a bot's own key only)."""

    tenant_providers: frozenset[str] = frozenset(DEFAULT_MODEL_PROVIDERS)
    endpoints: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    platform_models: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelPolicy:
        return cls(frozenset(settings.model_providers), MappingProxyType(dict(settings.model_endpoints)),
                   tuple(settings.platform_models))

    def on_platform(self, model: str, provider: str | None = None) -> bool:
        """Whether the platform's own credentials serve `model` (PLATFORM_MODELS)."""
        names = {model}
        provider = provider or provider_of(model)
        if provider and not model.startswith(f"{provider}/"):
            names.add(f"{provider}/{model}")
        return any(fnmatchcase(name, pattern) for name in names for pattern in self.platform_models)

    def authorize(self, model: str, *, tenant_key: bool, provider: str | None = None,
                  field: str = "model") -> str | None:
        """The api_base to call `model` at (None: the provider's own), or `ModelNotAllowed` naming
        `field`. `provider` is LiteLLM's resolution at call time; otherwise it is parsed here."""
        if model.startswith(LOCAL_PREFIX):
            return None
        provider = provider or provider_of(model)
        if provider is None:
            raise ModelNotAllowed(field, f"'{model}' names no known provider; write it as provider/model, "
                                         "e.g. openai/gpt-4o-mini")
        if tenant_key:
            if provider in PLATFORM_CREDENTIAL_PROVIDERS:
                raise ModelNotAllowed(field, f"provider '{provider}' signs with the platform's cloud account, so it "
                                             "cannot be used with a bot's own key")
            if provider not in self.tenant_providers:
                allowed = ", ".join(sorted(self.tenant_providers)) or "none"
                raise ModelNotAllowed(field, f"provider '{provider}' is not enabled on this deployment "
                                             f"(allowed with a bot's own key: {allowed})")
        elif not self.on_platform(model, provider):
            raise ModelNotAllowed(field, f"'{model}' is not served on the platform's keys; set provider_api_key "
                                         "to use your own key, or choose a model the operator offers")
        endpoint = self.endpoints.get(provider)
        if endpoint is None and provider not in HOSTED_PROVIDERS and provider not in PLATFORM_CREDENTIAL_PROVIDERS:
            raise ModelNotAllowed(field, f"provider '{provider}' is self-hosted and the operator has configured "
                                         "no endpoint for it")
        return endpoint
