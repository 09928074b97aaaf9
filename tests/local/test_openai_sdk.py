"""The official `openai` package against `minirag dev`: `OpenAI(base_url=.../v1/openai, api_key=<MiniRAG
token>)` lists the bots as models, gets a cited completion, streams one, and raises OpenAI's own
exceptions for a bad request and an unknown model."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.runner_process import add_text_source, bootstrap_tenant, start_local_runner, stop, wait_until


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory):
    process, api = start_local_runner(tmp_path_factory.mktemp("openai-sdk"))
    try:
        yield api
    finally:
        stop(process)


@pytest.fixture(scope="module")
def knowledge_bot(runner: str):
    """A tenant with a bot whose source is ingested; the OpenAI client with its token."""
    auth = bootstrap_tenant(runner)
    source_id = add_text_source(runner, auth, "# Refunds\n\nRefunds are paid within 14 days of the return.")
    assert httpx.post(f"{runner}/v1/sources/{source_id}/ingest", headers=auth, timeout=10).status_code == 202
    assert wait_until(lambda: httpx.get(f"{runner}/v1/sources/{source_id}", headers=auth,
                                        timeout=5).json()["status"] == "ready", 60)
    bot_id = httpx.get(f"{runner}/v1/sources/{source_id}", headers=auth, timeout=5).json()["bot_profile_id"]
    client = openai.OpenAI(base_url=f"{runner}/v1/openai", api_key=auth["authorization"].removeprefix("Bearer "),
                           max_retries=0, timeout=30)
    return client, bot_id


def test_models_are_the_tenants_bots(knowledge_bot):
    client, bot_id = knowledge_bot
    models = client.models.list()
    assert [m.id for m in models.data] == [bot_id]
    assert models.data[0].owned_by == "minirag"


def test_a_completion_answers_with_a_citation(knowledge_bot):
    client, bot_id = knowledge_bot
    completion = client.chat.completions.create(
        model=bot_id, messages=[{"role": "user", "content": "How long do refunds take?"}])
    answer = completion.choices[0].message
    assert answer.role == "assistant" and "14 days" in answer.content and "[1]" in answer.content
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert completion.model_extra["citations"][0]["index"] == 1  # the extra field, as the SDK keeps it


def test_a_streamed_completion_arrives_in_chunks(knowledge_bot):
    client, bot_id = knowledge_bot
    stream = client.chat.completions.create(
        model=bot_id, messages=[{"role": "user", "content": "How long do refunds take?"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len([c for c in chunks if c.choices]) > 2 and "14 days" in text
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(finishing) == 1 and finishing[0].model_extra["citations"]
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_errors_are_the_sdks_own_exceptions(knowledge_bot):
    client, bot_id = knowledge_bot
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model=bot_id, messages=[{"role": "user", "content": "Hi"}], n=2)
    assert bad.value.param == "n" and "unsupported parameter" in bad.value.message
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="00000000-0000-4000-8000-000000000000",
                                       messages=[{"role": "user", "content": "Hi"}])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=str(client.base_url), api_key="mrg_not-a-token", max_retries=0).models.list()


def test_streamed_answers_really_stream_through_the_runner(knowledge_bot):
    client, bot_id = knowledge_bot
    with client.chat.completions.with_streaming_response.create(
            model=bot_id, messages=[{"role": "user", "content": "How long do refunds take?"}], stream=True) as raw:
        assert raw.headers["content-type"].startswith("text/event-stream")
        assert raw.headers.get("transfer-encoding") == "chunked" or "content-length" not in raw.headers


def test_a_metadata_filter_rides_in_extra_body(knowledge_bot):
    client, bot_id = knowledge_bot
    question = [{"role": "user", "content": "How long do refunds take?"}]
    kept = client.chat.completions.create(model=bot_id, messages=question,
                                          extra_body={"filter": {"key": "file_type", "eq": "text"}})
    assert "14 days" in kept.choices[0].message.content and kept.model_extra["citations"]
    nothing = client.chat.completions.create(model=bot_id, messages=question,
                                             extra_body={"filter": {"key": "file_type", "eq": "pdf"}})
    assert "14 days" not in nothing.choices[0].message.content and nothing.model_extra["citations"] == []
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model=bot_id, messages=question,
                                       extra_body={"filter": {"key": "tenant_id", "eq": "x"}})
    assert bad.value.param == "filter.key"
