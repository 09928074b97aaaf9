"""Extracted text the databases cannot store as it is: a NUL (PostgreSQL refuses it in text and
JSON) is dropped, on both databases alike, so the ingest succeeds; an unpaired surrogate in a JSON
Lines record is the uploader's error, failed at once naming the line (no retries as an "outage")."""

from __future__ import annotations

import codecs
import json

import pytest

from minirag.queue.embedded import get_embedded_queue
from tests.factories import make_bot_profile
from tests.integration.ingest.support import (
    assert_consistent,
    create_upload_source,
    documents,
    get_source,
    put_upload,
    request_ingest,
    retrieve,
)
from tests.unit.documents.samples import make_pdf


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


def _ingest_upload(api, tenant, bot, filename: str, data: bytes, worker) -> dict:
    created = create_upload_source(api, tenant, bot["id"], filename)
    put_upload(api, created["upload"], data)
    request_ingest(api, tenant, created["id"])
    worker.drain()
    return get_source(api, tenant, created["id"])


def _chunk_texts(tenant, source_id: str) -> list[str]:
    import uuid

    from minirag.db.engine import get_session_factory
    from minirag.db.models import Chunk
    from minirag.db.scope import TenantScope

    with get_session_factory()() as session:
        scope = TenantScope(session, uuid.UUID(tenant.id))
        return [c.text for c in scope.scalars(scope.select(Chunk).where(Chunk.source_id == uuid.UUID(source_id)))]


def test_ingest_jsonl_with_nul_everywhere_is_ready_without_the_nuls(api, tenant_a, bot, ingest_worker):
    # Given JSON Lines whose id, title, text, heading-like text and metadata (key and value) carry NULs
    lines = [
        json.dumps({"id": "doc\u00001", "title": "Refund\u0000 policy",
                    "text": "Refunds are\u0000 processed within fourteen days.",
                    "metadata": {"team\u0000": "billing\u0000", "tags": ["a\u0000b"]}}),
        json.dumps({"id": "doc-2", "text": "Shipping takes three days."}),
    ]

    # When it is ingested
    ready = _ingest_upload(api, tenant_a, bot, "docs.jsonl", ("\n".join(lines) + "\n").encode(), ingest_worker)

    # Then it is ready (on PostgreSQL too), and what was stored has no NUL left
    assert_consistent(tenant_a, ready)
    first = documents(tenant_a, ready["id"])[0]
    assert (first.external_id, first.title) == ("doc1", "Refund policy")
    assert first.metadata_ == {"team": "billing", "tags": ["ab"]}
    assert all("\x00" not in text for text in _chunk_texts(tenant_a, ready["id"]))
    # And the text is retrievable
    hit = retrieve(api, tenant_a, bot["id"], "refunds processed fourteen days", mode="sparse", top_k=1)[0]
    assert hit["external_id"] == "doc1" and "\x00" not in hit["text"]


def test_ingest_pdf_and_markdown_with_nul_in_title_and_heading_are_ready(api, tenant_a, bot, ingest_worker):
    # Given a PDF whose title has a NUL, and Markdown with a NUL in a heading past the binary sniff
    utf16_title = (codecs.BOM_UTF16_BE + "Manual\x00 2024".encode("utf-16-be")).decode("latin-1")
    pdf = make_pdf(["Warranty lasts three years."], title=utf16_title)
    markdown = ("# Guide\n\n" + "Intro text. " * 6000 + "\n\n## Inst\x00all\n\nRun the installer.\n").encode()

    # When both are ingested
    pdf_source = _ingest_upload(api, tenant_a, bot, "manual.pdf", pdf, ingest_worker)
    md_source = _ingest_upload(api, tenant_a, bot, "guide.md", markdown, ingest_worker)

    # Then both are ready, titles and headings stored without the NUL
    assert_consistent(tenant_a, pdf_source)
    assert_consistent(tenant_a, md_source)
    assert documents(tenant_a, pdf_source["id"])[0].title == "Manual 2024"
    hit = retrieve(api, tenant_a, bot["id"], "run the installer", mode="sparse", top_k=1)[0]
    assert hit["heading"] == "Guide > Install"


def test_ingest_jsonl_with_unpaired_surrogate_skips_the_line_naming_it(api, tenant_a, bot, ingest_worker):
    # Given JSON Lines whose second record has an unpaired surrogate escape in its text
    lines = [json.dumps({"id": "ok", "text": "Fine text."}), '{"id": "bad", "text": "broken \\ud800 text"}']

    # When it is ingested
    ready = _ingest_upload(api, tenant_a, bot, "docs.jsonl", ("\n".join(lines) + "\n").encode(), ingest_worker)

    # Then the good line is ingested on the first receive and the bad one is reported by line and field
    assert ready["status"] == "ready"
    assert [s["line"] for s in ready["skipped"]] == [2]
    assert ready["skipped"][0]["reason"].startswith("'text'") and "surrogate" in ready["skipped"][0]["reason"]
    assert get_embedded_queue().dead_letters == []
    assert [d.external_id for d in documents(tenant_a, ready["id"])] == ["ok"]


def test_ingest_jsonl_with_metadata_nested_too_deep_fails_naming_the_line(api, tenant_a, bot, ingest_worker):
    # Given a record whose metadata is nested 300 levels deep
    deep: dict = {}
    for _ in range(299):
        deep = {"k": deep}
    lines = [json.dumps({"id": "deep", "text": "Some text.", "metadata": deep})]

    # When it is ingested
    failed = _ingest_upload(api, tenant_a, bot, "deep.jsonl", (lines[0] + "\n").encode(), ingest_worker)

    # Then it failed naming the line and the limit
    assert failed["status"] == "error"
    assert failed["last_error"] == "line 1: 'metadata' is nested more than 10 levels deep"
