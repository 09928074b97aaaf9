"""LLMGateway: LiteLLM calls, retries, error mapping and usage accounting, all offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from minirag.errors import RateLimited, UpstreamUnavailable
from minirag.llm import offline
from minirag.llm.gateway import Completion, LLMGateway
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
    return LLMGateway(max_attempts=3, base_delay=0.5, max_delay=4.0, sleep=sleeps.append)


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


