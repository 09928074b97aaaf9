"""What one source may cost the shared ingest worker: an archive may expand at most
INGEST_MAX_EXPANSION_RATIO times its uploaded size, and a source's documents at most
INGEST_MAX_SOURCE_CHARS characters and INGEST_MAX_SOURCE_CHUNKS chunks. Each is refused while
planning, on the first receive, before anything is embedded or fanned out, with a reason naming
the limit; bytes that are not text are refused as such."""

from __future__ import annotations

import io
import json
import random
import zipfile

import pytest

from minirag.queue.embedded import get_embedded_queue
from tests.factories import make_bot_profile
from tests.integration.ingest.support import (
    assert_consistent,
    create_upload_source,
    db_counts,
    get_source,
    put_upload,
    request_ingest,
    vector_count,
)


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


@pytest.fixture
def setting(monkeypatch):
    from minirag.settings import get_settings

    def set_value(name: str, value: object) -> None:
        monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()

    return set_value


@pytest.fixture
def embed_calls(monkeypatch) -> list[int]:
    """How many texts the ingest asked the embedder for, call by call."""
    from minirag.llm.gateway import LLMGateway

    calls: list[int] = []
    real = LLMGateway.embed

    def embed(self, texts, **kw):
        calls.append(len(texts))
        return real(self, texts, **kw)

    monkeypatch.setattr(LLMGateway, "embed", embed)
    return calls


def _ingest(api, tenant, bot, filename: str, data: bytes, worker) -> dict:
    created = create_upload_source(api, tenant, bot["id"], filename)
    put_upload(api, created["upload"], data)
    request_ingest(api, tenant, created["id"])
    assert worker.run_once() == 1  # the plan message: refused there, nothing is published after it
    assert len(get_embedded_queue()) == 0
    return get_source(api, tenant, created["id"])


def _assert_refused(tenant, failed: dict, reason: str, embed_calls: list[int]) -> None:
    assert failed["status"] == "error", failed
    assert failed["last_error"] == reason
    assert embed_calls == []
    assert db_counts(tenant, failed["id"]) == (0, 0) and vector_count(tenant, failed["id"]) == 0
    assert get_embedded_queue().dead_letters == []


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_zip_expanding_past_the_ratio_is_refused_while_planning(api, tenant_a, bot, ingest_worker, embed_calls):
    # Given a 4 KB zip of 1.2 MB of text (the 2,000-chunk, 350-second archive of the report)
    text = ("Refunds are processed within fourteen days of the return reaching us. " * 17_000).encode()
    archive = _zip({f"part{i}.txt": text[i::4] for i in range(4)})
    ratio = sum(len(text[i::4]) for i in range(4)) // len(archive)
    assert len(archive) < 10_000 and ratio > 100

    # When it is ingested
    failed = _ingest(api, tenant_a, bot, "bomb.zip", archive, ingest_worker)

    # Then it is refused at once, naming the ratio and the limit, and nothing was embedded
    _assert_refused(tenant_a, failed, (
        f"the zip file expands to {ratio} times its size ({len(text)} bytes from {len(archive)}); the limit is 100 "
        "times (INGEST_MAX_EXPANSION_RATIO)"), embed_calls)


def test_source_over_the_chunk_cap_is_refused_before_fanning_out(api, tenant_a, bot, ingest_worker, embed_calls,
                                                                 setting):
    # Given a chunk cap of 5 and 12 JSON Lines documents of one chunk each, 3 per batch
    setting("INGEST_MAX_SOURCE_CHUNKS", 5)
    setting("INGEST_BATCH_DOCUMENTS", 3)
    data = "".join(json.dumps({"id": f"d{i}", "text": f"Document {i} is short."}) + "\n" for i in range(12)).encode()

    # When it is ingested
    failed = _ingest(api, tenant_a, bot, "docs.jsonl", data, ingest_worker)

    # Then the plan refused it: no slice was published, nothing embedded
    _assert_refused(tenant_a, failed, "the source makes more than 5 chunks; the limit is 5 chunks per source "
                                      "(INGEST_MAX_SOURCE_CHUNKS)", embed_calls)


def test_source_over_the_text_cap_is_refused(api, tenant_a, bot, ingest_worker, embed_calls, setting):
    # Given a text cap of 1,000 characters and a 3,000-character text file
    setting("INGEST_MAX_SOURCE_CHARS", 1000)

    # When it is ingested
    failed = _ingest(api, tenant_a, bot, "notes.txt", ("Plain words here. " * 170).encode(), ingest_worker)

    # Then it is refused naming the limit
    _assert_refused(tenant_a, failed, "the source's text is longer than 1000 characters; the limit is 1000 "
                                      "characters per source (INGEST_MAX_SOURCE_CHARS)", embed_calls)


def test_source_within_the_caps_is_ingested(api, tenant_a, bot, ingest_worker, setting):
    # Given caps that the source just fits
    setting("INGEST_MAX_SOURCE_CHUNKS", 12)
    setting("INGEST_BATCH_DOCUMENTS", 3)
    data = "".join(json.dumps({"id": f"d{i}", "text": f"Document {i} is short."}) + "\n" for i in range(12)).encode()
    created = create_upload_source(api, tenant_a, bot["id"], "docs.jsonl")
    put_upload(api, created["upload"], data)

    # When it is ingested (fanned out)
    request_ingest(api, tenant_a, created["id"])
    ingest_worker.drain()

    # Then it is ready with every chunk
    ready = get_source(api, tenant_a, created["id"])
    assert_consistent(tenant_a, ready)
    assert ready["progress"]["chunks"] == 12


@pytest.mark.parametrize("size", [300, 20_000])
def test_random_bytes_uploaded_as_text_are_refused(api, tenant_a, bot, ingest_worker, embed_calls, size):
    # Given random bytes (without NULs, which were already refused) named notes.txt
    rng = random.Random(size)
    data = bytes(rng.randrange(1, 256) for _ in range(size))

    # When they are ingested
    failed = _ingest(api, tenant_a, bot, "notes.txt", data, ingest_worker)

    # Then the source failed saying it is not text, nothing was embedded
    _assert_refused(tenant_a, failed, "the file looks binary, not text", embed_calls)
