"""Offline models: behaviour directly and through LiteLLM's custom provider routing."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
from pathlib import Path

import pytest

from minirag.llm import offline
from minirag.llm.offline import (
    DONT_KNOW,
    EMBEDDING_DIM,
    ExtractiveAnswerer,
    HashEmbedder,
    MiniLMEmbedder,
    ModelFileError,
    parse_passages,
)

CONTEXT_PROMPT = """Answer only from the sources.

<context>
[1] Title: Refund policy
Refunds are accepted within 30 days of purchase. The item must be unused
and in its original packaging.

[2] Title: Shipping
Orders ship within 2 business days. International delivery takes 7-10 days.

[3] Our support team is available Monday to Friday.
</context>
<question>{question}</question>"""


def ask(question: str) -> list[dict]:
    return user(CONTEXT_PROMPT.format(question=question))


def user(text: str) -> list[dict]:
    return [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": text}]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def litellm():
    offline.register_offline_providers()
    import litellm as module

    return module


# ---- local/hash ------------------------------------------------------------------------------


def test_hash_gives_one_unit_vector_per_input() -> None:
    texts = ["refund policy", "shipping times", "", "the of and"]
    vectors = HashEmbedder().embed(texts)
    assert len(vectors) == len(texts)
    for vector in vectors:
        assert len(vector) == EMBEDDING_DIM
        assert math.isclose(math.fsum(v * v for v in vector), 1.0, rel_tol=1e-9)


def test_hash_is_deterministic_and_texts_sharing_words_are_closer() -> None:
    embedder = HashEmbedder()
    query, related, unrelated = embedder.embed(
        ["How do refunds work?", "Refunds are accepted within 30 days.", "Orders ship quickly worldwide."]
    )
    assert embedder.embed(["How do refunds work?"])[0] == query
    assert cosine(query, related) > cosine(query, unrelated) + 0.2


def test_hash_through_litellm_returns_one_vector_per_input(litellm) -> None:
    texts = [f"passage number {i}" for i in range(5)]
    response = litellm.embedding(model="local/hash", input=texts)
    assert [item["index"] for item in response.data] == list(range(5))
    assert [item["embedding"] for item in response.data] == HashEmbedder().embed(texts)
    assert response.usage.prompt_tokens > 0


# ---- local/extractive ------------------------------------------------------------------------


def test_passages_parse_titles_and_multiline_bodies() -> None:
    passages = parse_passages(CONTEXT_PROMPT.split("<context>")[1].split("</context>")[0])
    assert [p.number for p in passages] == [1, 2, 3]
    assert passages[0].title == "Refund policy"
    assert passages[0].sentences == [
        "Refunds are accepted within 30 days of purchase.",
        "The item must be unused and in its original packaging.",
    ]
    assert passages[2].title == ""
    assert passages[2].sentences == ["Our support team is available Monday to Friday."]


def test_passage_markers_count_only_in_sequence() -> None:
    passages = parse_passages("[1] Results were significant.\n[7] Smith and Jones, Nature 2020.\n\n[2] Second passage.")
    assert [p.number for p in passages] == [1, 2]
    assert passages[0].sentences == ["Results were significant.", "[7] Smith and Jones, Nature 2020."]


def test_extractive_answer_cites_the_relevant_passage() -> None:
    answer = ExtractiveAnswerer().respond(ask("How many days do I have to get a refund?"))
    assert answer.text.startswith("Refunds are accepted within 30 days of purchase [1].")
    assert answer.cited == [1]
    assert "[2]" not in answer.text

    shipping = ExtractiveAnswerer().respond(ask("How long does international delivery take?"))
    assert "International delivery takes 7-10 days [2]." in shipping.text
    assert shipping.cited[0] == 2


def test_extractive_says_dont_know_without_relevant_context() -> None:
    answerer = ExtractiveAnswerer()
    assert answerer.respond(ask("What is the capital of France?")).text == DONT_KNOW
    assert answerer.respond(user("What is the refund policy?")).text == DONT_KNOW
    assert answerer.respond(user("<context>\n</context>\n<question>Refunds?</question>")).text == DONT_KNOW
    assert answerer.respond(ask("What is it?")).text == DONT_KNOW


def test_extractive_reads_only_the_last_user_message() -> None:
    messages = [
        {"role": "user", "content": CONTEXT_PROMPT.format(question="refund")},
        {"role": "assistant", "content": "Refunds are accepted within 30 days [1]."},
        {"role": "user", "content": [{"type": "text", "text": "Tell me about the weather."}]},
    ]
    assert ExtractiveAnswerer().respond(messages).text == DONT_KNOW


def test_rewrite_adds_salient_words_of_the_last_user_turn() -> None:
    prompt = """Rewrite the follow-up as a standalone search query.
<rewrite>
<history>
user: What is the refund policy for laptops?
assistant: Laptops can be returned within 30 days [1].
</history>
<followup>And for phones?</followup>
</rewrite>"""
    assert ExtractiveAnswerer().respond(user(prompt)).text == "And for phones? refund policy laptops"

    no_tags = (
        "<rewrite>\nuser: Which plans include SSO?\nassistant: Enterprise [2].\n"
        "user: How much does it cost?\n</rewrite>"
    )
    assert ExtractiveAnswerer().respond(user(no_tags)).text == "How much does it cost? plans include SSO"

    no_history = "<rewrite><followup>What is SSO?</followup></rewrite>"
    assert ExtractiveAnswerer().respond(user(no_history)).text == "What is SSO?"


def test_extractive_through_litellm_reports_usage(litellm) -> None:
    messages = ask("When is support available?")
    response = litellm.completion(model="local/extractive", messages=messages)
    text = response.choices[0].message.content
    assert text == "Our support team is available Monday to Friday [3]."
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.completion_tokens == offline.count_tokens(text)
    assert response.usage.prompt_tokens == sum(offline.count_tokens(m["content"]) for m in messages)
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens


def test_extractive_streaming_yields_the_same_text(litellm) -> None:
    messages = ask("How long do refunds take and what packaging is needed?")
    whole = litellm.completion(model="local/extractive", messages=messages).choices[0].message.content
    deltas, usage = [], None
    for chunk in litellm.completion(
        model="local/extractive", messages=messages, stream=True, stream_options={"include_usage": True}
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            deltas.append(chunk.choices[0].delta.content)
        usage = getattr(chunk, "usage", None) or usage
    assert len(deltas) > 3
    assert "".join(deltas) == whole
    assert usage.completion_tokens == offline.count_tokens(whole)


def test_extractive_async_and_async_streaming(litellm) -> None:
    messages = ask("When do orders ship?")

    async def run() -> tuple[str, str]:
        response = await litellm.acompletion(model="local/extractive", messages=messages)
        stream = await litellm.acompletion(model="local/extractive", messages=messages, stream=True)
        parts = [c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content]
        return response.choices[0].message.content, "".join(parts)

    whole, streamed = asyncio.run(run())
    assert whole.startswith("Orders ship within 2 business days [2].")
    assert streamed == whole


def test_extractive_respects_max_tokens(litellm) -> None:
    messages = ask("How long do refunds take and what packaging is needed?")
    response = litellm.completion(model="local/extractive", messages=messages, max_tokens=5)
    assert response.choices[0].finish_reason == "length"
    assert response.usage.completion_tokens <= 5


def test_unknown_local_model_is_a_not_found_error(litellm) -> None:
    with pytest.raises(litellm.NotFoundError):
        litellm.completion(model="local/nope", messages=user("hi"))
    with pytest.raises(litellm.NotFoundError):
        litellm.embedding(model="local/extractive", input=["hi"])


def test_registration_is_idempotent(litellm) -> None:
    first = offline.register_offline_providers()
    second = offline.register_offline_providers()
    assert first is second
    assert [e["provider"] for e in litellm.custom_provider_map].count("local") == 1


# ---- model files -----------------------------------------------------------------------------


def test_tampered_tokenizer_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "tokenizer.json"
    data = json.loads(offline.tokenizer_file().read_text())
    data["truncation"] = None
    copy.write_text(json.dumps(data))
    with pytest.raises(ModelFileError, match="sha256"):
        MiniLMEmbedder(tokenizer_path=copy).embed(["hello"])


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "model.onnx"
    shutil.copyfile(offline.shipped_onnx_file(), copy)
    with open(copy, "r+b") as handle:
        handle.seek(4096)
        byte = handle.read(1)
        handle.seek(4096)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelFileError, match="expected " + offline.SHIPPED_ONNX_SHA256):
        MiniLMEmbedder(onnx_file=copy).embed(["hello"])


def test_prepared_model_is_used_only_while_its_digest_matches(tmp_path: Path) -> None:
    assert offline.optimised_model(tmp_path) is None  # no cache: shipped model
    model = tmp_path / offline.OPTIMISED_MODEL_FILE
    model.write_bytes(b"prepared model bytes")
    manifest = {
        "selected": "optimised",
        "source_sha256": offline.SHIPPED_ONNX_SHA256,
        "sha256": offline.sha256_file(model),
    }
    (tmp_path / offline.OPTIMISED_MANIFEST_FILE).write_text(json.dumps(manifest))
    assert offline.optimised_model(tmp_path) == model
    model.write_bytes(b"altered")
    assert offline.optimised_model(tmp_path) is None
    manifest["selected"] = "shipped"
    (tmp_path / offline.OPTIMISED_MANIFEST_FILE).write_text(json.dumps(manifest))
    assert offline.optimised_model(tmp_path) is None


# ---- local/minilm (real model) ---------------------------------------------------------------


@pytest.fixture(scope="session")
def minilm() -> MiniLMEmbedder:
    """The process-wide embedder LiteLLM routes to, loaded once for the session."""
    offline.provider.minilm.embed(["warm up"])
    return offline.provider.minilm


@pytest.mark.slow
def test_minilm_unit_vectors_and_semantic_order(minilm: MiniLMEmbedder) -> None:
    texts = [
        "How do I get my money back?",
        "Refunds are issued to the original payment method within 30 days.",
        "The mitochondria is the powerhouse of the cell.",
        "A cat sat on the mat.",
        "word " * 400,  # longer than 256 tokens: truncated, not an error
    ]
    vectors = minilm.embed(texts)
    assert len(vectors) == len(texts)
    for vector in vectors:
        assert len(vector) == EMBEDDING_DIM
        assert math.isclose(math.fsum(v * v for v in vector), 1.0, rel_tol=1e-4)
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[3]) + 0.2


@pytest.mark.slow
def test_minilm_batching_and_padding_do_not_change_vectors(minilm: MiniLMEmbedder) -> None:
    texts = [f"Sentence {i} " + "about vector search " * (i % 7) for i in range(70)]
    batched = minilm.embed(texts)
    assert len(batched) == 70
    for i in (0, 13, 69):
        assert cosine(minilm.embed([texts[i]])[0], batched[i]) > 0.999


@pytest.mark.slow
def test_minilm_through_litellm(litellm, minilm: MiniLMEmbedder) -> None:
    texts = ["refund policy", "shipping time", "refund policy"]
    response = litellm.embedding(model="local/minilm", input=texts)
    vectors = [item["embedding"] for item in response.data]
    assert len(vectors) == 3
    assert cosine(vectors[0], vectors[2]) > 0.9999
    assert cosine(vectors[0], minilm.embed(["refund policy"])[0]) > 0.9999
    assert response.usage.prompt_tokens == minilm.count_tokens(texts)

    async_response = asyncio.run(litellm.aembedding(model="local/minilm", input=texts))
    assert len(async_response.data) == 3
