"""Batch sources (JSON Lines, zip): one source, many Documents, fanned out through the queue as one
message per slice of documents; progress counts documents and slices exactly."""

from __future__ import annotations

import json

import pytest

from minirag.queue.embedded import get_embedded_queue
from tests.factories import make_bot_profile
from tests.integration.ingest.support import (
    assert_consistent,
    create_upload_source,
    documents,
    event_for,
    failed_ids,
    get_source,
    invoke_ingest,
    put_upload,
    request_ingest,
    retrieve,
    take_queued,
)
from tests.unit.documents.samples import make_pdf, make_zip


def _jsonl(count: int, **extra_fields) -> bytes:
    lines = [json.dumps({"id": f"doc-{i}", "title": f"Title {i}", "text": f"Document {i} explains topic{i} in detail.",
                         "metadata": {"n": i, "lang": "en"}, **extra_fields}) for i in range(count)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


@pytest.fixture
def batch_documents(monkeypatch):
    """Set INGEST_BATCH_DOCUMENTS for the test."""
    from minirag.settings import get_settings

    def set_size(size: int) -> None:
        monkeypatch.setenv("INGEST_BATCH_DOCUMENTS", str(size))
        get_settings.cache_clear()

    return set_size


def test_ingest_jsonl_fans_out_slices_and_counts_progress(api, tenant_a, bot, batch_documents):
    # Given a JSON Lines upload of 150 documents and at most 40 documents per batch message
    batch_documents(40)
    created = create_upload_source(api, tenant_a, bot["id"], "corpus.jsonl")
    put_upload(api, created["upload"], _jsonl(150))
    request_ingest(api, tenant_a, created["id"])

    # When the plan message is handled
    event, _ = event_for(*take_queued())
    assert failed_ids(invoke_ingest(api, event)) == []

    # Then four balanced slices covering every document are queued, one message each
    slices = [json.loads(body) for body in take_queued()]
    assert {m["kind"] for m in slices} == {"batch"}
    assert sorted((m["start"], m["stop"]) for m in slices) == [(0, 38), (38, 76), (76, 114), (114, 150)]
    planned = get_source(api, tenant_a, created["id"])
    assert planned["status"] == "processing"
    assert planned["progress"] == {"documents_done": 0, "documents_total": 150, "chunks": 0,
                                   "batches_done": 0, "batches_total": 4}

    # When the slices are handled one by one (last slice first), each delivered twice
    done = 0
    for number, message in enumerate(sorted(slices, key=lambda m: -m["start"]), start=1):
        for _ in range(2):
            event, _ = event_for(json.dumps(message))
            assert failed_ids(invoke_ingest(api, event)) == []
        done += message["stop"] - message["start"]
        # Then progress counts documents and complete slices exactly, whatever the redelivery
        progress = get_source(api, tenant_a, created["id"])
        assert (progress["progress"]["documents_done"], progress["progress"]["batches_done"]) == (done, number)
        assert progress["status"] == ("ready" if number == 4 else "processing")

    # And the ready source has 150 documents that keep their own id, title and metadata
    ready = get_source(api, tenant_a, created["id"])
    assert_consistent(tenant_a, ready)
    rows = documents(tenant_a, created["id"])
    assert [(d.position, d.external_id, d.title, d.metadata_) for d in rows] == [
        (i, f"doc-{i}", f"Title {i}", {"n": i, "lang": "en"}) for i in range(150)]
    # And retrieval hits carry the document's external id and title
    hits = retrieve(api, tenant_a, bot["id"], "topic77", mode="sparse", top_k=3)
    assert (hits[0]["external_id"], hits[0]["title"]) == ("doc-77", "Title 77")
    dense = retrieve(api, tenant_a, bot["id"], "Document 120 explains topic120 in detail.", top_k=1)
    assert (dense[0]["external_id"], dense[0]["title"]) == ("doc-120", "Title 120")


def test_ingest_zip_makes_one_document_per_supported_member(api, tenant_a, bot, batch_documents, ingest_worker):
    # Given a zip of markdown, HTML and PDF files (plus one unsupported file), two documents per batch
    batch_documents(2)
    archive = make_zip({
        "docs/setup.md": b"# Setup\n\nPlug the router into the wall socket.",
        "docs/faq.html": b"<h1>FAQ</h1><p>The router blinks green when online.</p>",
        "manual.pdf": make_pdf(["The router warranty lasts three years."]),
        "image.bmp": b"BM....",
    })
    created = create_upload_source(api, tenant_a, bot["id"], "kb.zip")
    put_upload(api, created["upload"], archive)

    # When it is ingested through the queue
    request_ingest(api, tenant_a, created["id"])
    assert ingest_worker.drain() == 3  # the plan, then two slices

    # Then the source is ready with one document per supported member, named by its path
    ready = get_source(api, tenant_a, created["id"])
    assert_consistent(tenant_a, ready)
    assert ready["progress"]["batches_total"] == 2
    rows = documents(tenant_a, created["id"])
    assert [(d.external_id, d.title, d.metadata_["archive_member"]) for d in rows] == [
        ("docs/setup.md", "setup.md", "docs/setup.md"), ("docs/faq.html", "faq.html", "docs/faq.html"),
        ("manual.pdf", "manual.pdf", "manual.pdf")]
    # And the skipped member is reported on the source
    assert ready["metadata"]["ingest_warnings"] == ["skipped 'image.bmp': unsupported file type '.bmp'"]
    assert ready["skipped"] == [{"line": None, "member": "image.bmp", "reason": "unsupported file type '.bmp'"}]
    assert ready["document_count"] == 3
    # And hits carry the member's path and file name
    hit = retrieve(api, tenant_a, bot["id"], "warranty three years", mode="sparse", top_k=1)[0]
    assert (hit["external_id"], hit["title"], hit["page"]) == ("manual.pdf", "manual.pdf", 1)


def test_ingest_jsonl_with_bad_lines_keeps_the_good_documents_and_reports_the_bad_lines(
        api, tenant_a, bot, batch_documents, ingest_worker):
    # Given a JSON Lines upload of 9 lines whose 3rd is not JSON and 7th has no text, three documents per batch
    batch_documents(3)
    lines = _jsonl(9).decode().splitlines()
    lines[2] = "{not json"
    lines[6] = json.dumps({"id": "empty"})
    created = create_upload_source(api, tenant_a, bot["id"], "broken.jsonl")
    put_upload(api, created["upload"], ("\n".join(lines) + "\n").encode())

    # When it is ingested
    request_ingest(api, tenant_a, created["id"])
    ingest_worker.drain()

    # Then the source is ready with the 7 good documents, and says which lines it skipped and why
    ready = get_source(api, tenant_a, created["id"])
    assert_consistent(tenant_a, ready)
    assert ready["document_count"] == 7 and ready["progress"]["batches_total"] == 3
    assert [(s["line"], s["reason"].split(" (")[0]) for s in ready["skipped"]] == [
        (3, "invalid JSON"), (7, "'text' is missing or empty")]
    assert [d.external_id for d in documents(tenant_a, created["id"])] == [
        f"doc-{i}" for i in (0, 1, 3, 4, 5, 7, 8)]
    assert get_embedded_queue().dead_letters == []
    # And a good line's document is served, with its metadata
    hit = retrieve(api, tenant_a, bot["id"], "topic8", mode="sparse", top_k=1)[0]
    assert (hit["external_id"], hit["metadata"]) == ("doc-8", {"n": 8, "lang": "en"})


def test_ingest_jsonl_without_a_valid_line_fails_naming_the_lines(api, tenant_a, bot, ingest_worker):
    # Given a JSON Lines upload where no line is a valid document
    created = create_upload_source(api, tenant_a, bot["id"], "all-bad.jsonl")
    put_upload(api, created["upload"], b'{not json\n[1, 2]\n')

    # When it is ingested
    request_ingest(api, tenant_a, created["id"])
    ingest_worker.drain()

    # Then the source failed naming the first bad line, with nothing left behind
    failed = get_source(api, tenant_a, created["id"])
    assert failed["status"] == "error"
    assert failed["last_error"].startswith("line 1: invalid JSON")
    assert failed["last_error"].endswith("(and 1 more bad lines)")
    assert documents(tenant_a, created["id"]) == []


def test_ingest_long_titles_and_ids_within_column_limits(api, tenant_a, bot, ingest_worker):
    # Given documents with a 2,000-character title (longer than the column)
    created = create_upload_source(api, tenant_a, bot["id"], "long.jsonl")
    put_upload(api, created["upload"], _jsonl(2, title="T" * 2000))

    # When it is ingested
    request_ingest(api, tenant_a, created["id"])
    ingest_worker.drain()

    # Then it is ready on every database, the title cut to the column size
    ready = get_source(api, tenant_a, created["id"])
    assert_consistent(tenant_a, ready)
    assert {len(d.title) for d in documents(tenant_a, created["id"])} == {1024}


def test_ingest_archive_without_supported_files_fails_once_when_planning(api, tenant_a, bot):
    # Given a zip with nothing ingestible in it
    created = create_upload_source(api, tenant_a, bot["id"], "images.zip")
    put_upload(api, created["upload"], make_zip({"a.bmp": b"BM..", "b.exe": b"MZ.."}))
    request_ingest(api, tenant_a, created["id"])
    [plan] = take_queued()

    # When the plan message is delivered, and delivered again
    first, _ = event_for(plan)
    assert failed_ids(invoke_ingest(api, first)) == []
    failed = get_source(api, tenant_a, created["id"])
    again, _ = event_for(plan, receive_count=2)
    assert failed_ids(invoke_ingest(api, again)) == []

    # Then the source failed once, with the reason, and nothing was fanned out
    assert failed["status"] == "error"
    assert failed["last_error"].startswith("the archive contains no supported files")
    assert get_source(api, tenant_a, created["id"]) == failed
    assert take_queued() == [] and get_embedded_queue().dead_letters == []


def test_ingest_fan_out_publish_failure_retries_the_plan(api, tenant_a, bot, batch_documents, ingest_worker,
                                                          monkeypatch):
    # Given a JSON Lines source of 6 documents (3 slices) and a queue that refuses the first fan-out
    from minirag.errors import UpstreamUnavailable
    from minirag.queue.publisher import EmbeddedPublisher

    batch_documents(2)
    real = EmbeddedPublisher.publish
    refusals = []

    def publish(self, messages):
        if any(m.kind == "batch" for m in messages) and not refusals:
            refusals.append(len(messages))
            raise UpstreamUnavailable("could not enqueue the ingest request; try again")
        return real(self, messages)

    monkeypatch.setattr(EmbeddedPublisher, "publish", publish)
    created = create_upload_source(api, tenant_a, bot["id"], "six.jsonl")
    put_upload(api, created["upload"], _jsonl(6))

    # When it is ingested
    request_ingest(api, tenant_a, created["id"])
    ingest_worker.drain()

    # Then the plan was retried and the source is ready, each slice counted once
    assert refusals == [3]
    ready = get_source(api, tenant_a, created["id"])
    assert_consistent(tenant_a, ready)
    assert ready["progress"]["batches_done"] == ready["progress"]["batches_total"] == 3
