"""LLMGateway: LiteLLM calls, retries, error mapping and usage accounting, all offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from minirag.errors import RateLimited, UpstreamUnavailable
from minirag.llm import offline
from minirag.llm.gateway import Completion, LLMGateway
from minirag.llm.model_policy import ModelNotAllowed, ModelPolicy
from minirag.llm.offline import HashEmbedder

CONTEXT = (
    "<context>\n[1] Refunds are accepted within 30 days of purchase.\n\n"
    "[2] Orders ship within 2 business days.\n</context>\n<question>When do orders ship?</question>"
)
MESSAGES = [{"role": "user", "content": CONTEXT}]
SECRET = "sk-test-secret-key-1234567890"


@pytest.fixture(scope="module")
def litellm():
    offline.register_offline_providers()
    import litellm as module

    return module


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def gateway(sleeps: list[float], litellm) -> LLMGateway:
    # The operator serves OpenAI models on the platform's keys (the calls below carry no key).
    return LLMGateway(max_attempts=3, base_delay=0.5, max_delay=4.0, sleep=sleeps.append,
                      policy=ModelPolicy(platform_models=("openai/*",)))


def test_constructing_a_gateway_does_not_import_litellm() -> None:
    shared = Path(__file__).resolve().parents[3] / "shared"
    code = (
        "import sys; from minirag.llm.gateway import LLMGateway; LLMGateway(); "
        "assert 'litellm' not in sys.modules and 'onnxruntime' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(shared)})


def test_embed_local_hash_through_litellm_in_batches(gateway: LLMGateway, litellm, monkeypatch) -> None:
    calls: list[int] = []
    real_embedding = litellm.embedding

    def counting_embedding(**kwargs):
        calls.append(len(kwargs["input"]))
        return real_embedding(**kwargs)

    monkeypatch.setattr(litellm, "embedding", counting_embedding)
    texts = [f"text number {i}" for i in range(7)]
    vectors = gateway.embed(texts, model="local/hash", batch_size=3)
    assert calls == [3, 3, 1]
    assert vectors == HashEmbedder().embed(texts)
    assert gateway.embed([], model="local/hash") == []


def test_embed_with_mock_response_gives_one_vector_per_text(gateway: LLMGateway) -> None:
    assert gateway.embed(["a", "b", "c"], model="text-embedding-3-small", mock_response=[0.1, 0.2]) == [
        [0.1, 0.2]
    ] * 3


def test_complete_with_mock_response_reports_usage_and_cost(gateway: LLMGateway) -> None:
    result = gateway.complete(
        MESSAGES, model="gpt-4o-mini", temperature=0.1, max_tokens=50, mock_response="Orders ship fast [2]."
    )
    assert isinstance(result, Completion)
    assert result.text == "Orders ship fast [2]."
    assert result.total_tokens == result.prompt_tokens + result.completion_tokens > 0
    assert result.cost is not None and result.cost > 0


def test_complete_offline_extractive_has_usage_and_no_cost(gateway: LLMGateway) -> None:
    result = gateway.complete(MESSAGES, model="local/extractive", temperature=0.0, max_tokens=200)
    assert result.text == "Orders ship within 2 business days [2]."
    assert result.completion_tokens == offline.count_tokens(result.text)
    assert result.prompt_tokens == offline.count_tokens(CONTEXT)
    assert result.cost is None
    assert result.finish_reason == "stop"


def test_rate_limit_is_retried_then_mapped(gateway: LLMGateway, sleeps: list[float], litellm) -> None:
    error = litellm.RateLimitError(message="slow down", llm_provider="openai", model="gpt-4o-mini")
    with pytest.raises(RateLimited) as caught:
        gateway.complete(MESSAGES, model="gpt-4o-mini", temperature=0, max_tokens=10, mock_response=error)
    assert len(sleeps) == 2  # 3 attempts
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0  # exponential with jitter
    assert "gpt-4o-mini" in caught.value.message
    assert caught.value.status_code == 429


def test_transient_errors_are_retried_until_success(
    gateway: LLMGateway, sleeps: list[float], litellm, monkeypatch
) -> None:
    real_embedding = litellm.embedding
    failures = [
        litellm.APIConnectionError(message="reset", llm_provider="openai", model="m"),
        litellm.ServiceUnavailableError(message="busy", llm_provider="openai", model="m"),
    ]

    def flaky(**kwargs):
        if failures:
            raise failures.pop(0)
        return real_embedding(**kwargs)

    monkeypatch.setattr(litellm, "embedding", flaky)
    assert len(gateway.embed(["a", "b"], model="local/hash")) == 2
    assert len(sleeps) == 2


def test_embed_gives_up_after_max_attempts(
    gateway: LLMGateway, sleeps: list[float], litellm, monkeypatch
) -> None:
    def always_down(**kwargs):
        raise litellm.InternalServerError(message="boom", llm_provider="openai", model="m")

    monkeypatch.setattr(litellm, "embedding", always_down)
    with pytest.raises(UpstreamUnavailable) as caught:
        gateway.embed(["a"], model="openai/text-embedding-3-small")
    assert caught.value.code == "upstream_unavailable"
    assert len(sleeps) == 2


def test_bad_key_is_not_retried_and_never_echoed(gateway: LLMGateway, sleeps: list[float], litellm) -> None:
    error = litellm.AuthenticationError(
        message=f"Incorrect API key provided: {SECRET}", llm_provider="openai", model="gpt-4o-mini"
    )
    with pytest.raises(UpstreamUnavailable) as caught:
        gateway.complete(
            MESSAGES, model="gpt-4o-mini", temperature=0, max_tokens=10, api_key=SECRET, mock_response=error
        )
    assert caught.value.code == "provider_auth_failed"
    assert "provider key" in caught.value.message
    assert SECRET not in caught.value.message and SECRET not in str(caught.value.to_body())
    assert sleeps == []


def test_bad_request_maps_to_rejected(gateway: LLMGateway, sleeps: list[float], litellm) -> None:
    error = litellm.BadRequestError(message="invalid", llm_provider="openai", model="gpt-4o-mini")
    with pytest.raises(UpstreamUnavailable) as caught:
        gateway.complete(MESSAGES, model="gpt-4o-mini", temperature=0, max_tokens=10, mock_response=error)
    assert caught.value.code == "provider_rejected_request"
    assert sleeps == []


def test_unknown_offline_model_is_rejected(gateway: LLMGateway) -> None:
    with pytest.raises(UpstreamUnavailable) as caught:
        gateway.embed(["a"], model="local/nope")
    assert caught.value.code == "provider_rejected_request"


def test_altered_offline_model_files_fail_fast(
    gateway: LLMGateway, sleeps: list[float], tmp_path, monkeypatch
) -> None:
    bad_tokenizer = tmp_path / "tokenizer.json"
    bad_tokenizer.write_text("{}")
    monkeypatch.setattr(offline.provider, "minilm", offline.MiniLMEmbedder(tokenizer_path=bad_tokenizer))
    with pytest.raises(UpstreamUnavailable) as caught:
        gateway.embed(["a"], model="local/minilm")
    assert caught.value.code == "offline_model_unavailable"
    assert sleeps == []


def test_stream_yields_the_completion_text_and_usage(gateway: LLMGateway) -> None:
    whole = gateway.complete(MESSAGES, model="local/extractive", temperature=0, max_tokens=200)
    stream = gateway.stream(MESSAGES, model="local/extractive", temperature=0, max_tokens=200)
    with pytest.raises(RuntimeError):
        _ = stream.result
    deltas = list(stream)
    assert len(deltas) > 1 and "".join(deltas) == whole.text
    assert stream.result.text == whole.text
    assert stream.result.prompt_tokens == whole.prompt_tokens
    assert stream.result.completion_tokens == whole.completion_tokens
    assert stream.result.cost is None


def test_stream_with_mock_response_counts_usage_and_cost(gateway: LLMGateway) -> None:
    stream = gateway.stream(
        MESSAGES, model="gpt-4o-mini", temperature=0, max_tokens=50, mock_response="Orders ship fast [2]."
    )
    assert "".join(stream) == "Orders ship fast [2]."
    assert stream.result.completion_tokens > 0 and stream.result.prompt_tokens > 0
    assert stream.result.cost is not None


def test_stream_start_is_retried_on_rate_limit(gateway: LLMGateway, sleeps: list[float], litellm) -> None:
    error = litellm.RateLimitError(message="slow down", llm_provider="openai", model="gpt-4o-mini")
    with pytest.raises(RateLimited):
        gateway.stream(MESSAGES, model="gpt-4o-mini", temperature=0, max_tokens=10, mock_response=error)
    assert len(sleeps) == 2




# -- the model policy at call time ------------------------------------------------------------------

@pytest.fixture
def sent(litellm, monkeypatch) -> list[dict]:
    """The keyword arguments of every LiteLLM call (answered by LiteLLM's mock, no network)."""
    calls: list[dict] = []
    real_completion, real_embedding = litellm.completion, litellm.embedding

    def completion(**kwargs):
        calls.append(kwargs)
        return real_completion(**kwargs, mock_response="ok")

    def embedding(**kwargs):
        calls.append(kwargs)
        return real_embedding(**kwargs, mock_response=[0.5, 0.5])

    monkeypatch.setattr(litellm, "completion", completion)
    monkeypatch.setattr(litellm, "embedding", embedding)
    return calls


@pytest.mark.parametrize("model", ["ollama/llama3", "ollama_chat/llama3", "llamafile/m", "lemonade/m",
                                   "hosted_vllm/m", "bedrock/anthropic.claude-v2", "vertex_ai/gemini-pro",
                                   "azure/deployment", "sagemaker/endpoint"])
def test_gateway_refuses_self_hosted_and_platform_credential_models_on_a_tenant_key(sent, model) -> None:
    gateway = LLMGateway(sleep=lambda _: None)
    with pytest.raises(ModelNotAllowed) as caught:
        gateway.complete(MESSAGES, model=model, temperature=0, max_tokens=10, api_key=SECRET)
    with pytest.raises(ModelNotAllowed):
        gateway.embed(["a"], model=model, api_key=SECRET)
    assert caught.value.status_code == 422 and caught.value.code == "model_not_allowed"
    assert sent == []


def test_gateway_serves_platform_keys_only_for_listed_models(sent) -> None:
    gateway = LLMGateway(policy=ModelPolicy(platform_models=("gpt-4o-mini",)), platform_embedding_key="sk-platform")
    assert gateway.complete(MESSAGES, model="gpt-4o-mini", temperature=0, max_tokens=10).text == "ok"
    for model in ("gpt-4o", "openai/gpt-4o-mini-2024-07-18", "anthropic/claude-sonnet-4-20250514"):
        with pytest.raises(ModelNotAllowed):
            gateway.complete(MESSAGES, model=model, temperature=0, max_tokens=10)
    with pytest.raises(ModelNotAllowed) as caught:
        gateway.embed(["a"], model="text-embedding-3-large")
    assert caught.value.field == "embedding_model"
    # a tenant's own key may use any model of an allowed hosted provider
    assert gateway.complete(MESSAGES, model="gpt-4o", temperature=0, max_tokens=10, api_key=SECRET).text == "ok"
    assert [call["model"] for call in sent] == ["gpt-4o-mini", "gpt-4o"]


def test_platform_embedding_key_is_used_only_on_the_platform_path(sent) -> None:
    gateway = LLMGateway(policy=ModelPolicy(platform_models=("text-embedding-3-small",)),
                         platform_embedding_key="sk-platform-embeddings")
    gateway.embed(["a"], model="text-embedding-3-small")
    gateway.embed(["a"], model="text-embedding-3-large", api_key=SECRET)
    assert [call.get("api_key") for call in sent] == ["sk-platform-embeddings", SECRET]


def test_operator_endpoint_is_the_only_api_base_a_self_hosted_provider_gets(sent) -> None:
    policy = ModelPolicy(tenant_providers=frozenset({"openai", "ollama_chat"}),
                         endpoints={"ollama_chat": "http://ollama.internal:11434"}, platform_models=("ollama/*",))
    gateway = LLMGateway(policy=policy)
    gateway.complete(MESSAGES, model="ollama_chat/llama3", temperature=0, max_tokens=10, api_key=SECRET)
    gateway.complete(MESSAGES, model="gpt-4o-mini", temperature=0, max_tokens=10, api_key=SECRET)
    with pytest.raises(ModelNotAllowed):  # on the platform's list, but no endpoint was vetted for it
        gateway.complete(MESSAGES, model="ollama/llama3", temperature=0, max_tokens=10)
    assert [call.get("api_base") for call in sent] == ["http://ollama.internal:11434", None]
