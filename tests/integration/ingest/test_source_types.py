"""create source → ingest → ready, for every source type, through the API and the real ingest
handler: text; markdown/HTML/PDF/DOCX uploads through the local runner's signed PUT and through an
S3 presigned PUT (moto over HTTP); a URL served from 127.0.0.1 (allowed explicitly, refused by
default); unreadable files fail at once with a readable reason."""

from __future__ import annotations

import pytest

from minirag.queue.embedded import get_embedded_queue
from tests.assertions import assert_error
from tests.factories import make_bot_profile, make_source
from tests.integration.ingest.support import (
    assert_consistent,
    create_upload_source,
    event_for,
    failed_ids,
    get_source,
    invoke_ingest,
    put_upload,
    request_ingest,
    retrieve,
    take_queued,
    vector_count,
)
from tests.unit.documents.samples import make_docx, make_pdf

HANDBOOK = """# Handbook

## Opening hours

Our office opens at 9am on weekdays and closes at 5pm.

## Refunds

Refunds are processed within 14 days of the return reaching the warehouse.
"""

UPLOADS = {
    "guide.md": (b"# Guide\n\n## Install\n\nRun the installer and accept the licence.\n\n"
                 b"## Uninstall\n\nDrag the application to the bin.", "licence installer", "Guide > Install", None),
    "help.html": (b"<html><head><title>Help centre</title></head><body><nav>menu</nav><h1>Help</h1>"
                  b"<h2>Shipping</h2><p>Parcels ship within two days by courier.</p></body></html>",
                  "parcels courier", "Help > Shipping", None),
    "manual.pdf": (make_pdf(["Warranty terms last two years.", "Battery replacement is free of charge."]),
                   "battery replacement", None, 2),
    "report.docx": (make_docx(), "revenue grew", "Summary", None),
}


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


def test_ingest_text_source_becomes_ready_with_chunks(api, tenant_a, bot, ingest_worker):
    # Given a text source with two headed sections
    source = make_source(api, tenant_a, bot["id"], name="Handbook", content=HANDBOOK)

    # When its ingest is requested and the queue is drained through the ingest handler
    queued = request_ingest(api, tenant_a, source["id"])
    assert queued["version"] == 1 and queued["queued_at"] is not None
    assert ingest_worker.drain() == 1

    # Then the source is ready, its progress, rows and points agree, and timestamps are set in order
    ready = get_source(api, tenant_a, source["id"])
    assert_consistent(tenant_a, ready)
    assert ready["progress"]["documents_total"] == 1 and ready["progress"]["batches_total"] == 1
    # And its chunks are retrievable (dense and sparse), titled by the source name, headings kept
    for mode in ("dense", "sparse"):
        hits = retrieve(api, tenant_a, bot["id"], "How long do refunds take?", mode=mode)
        assert hits and all(h["source_id"] == source["id"] and h["title"] == "Handbook" for h in hits)
        refund = next(h for h in hits if "14 days" in h["text"])
        assert refund["heading"] == "Handbook > Refunds"


@pytest.mark.parametrize("storage", ["local", "s3"])
def test_ingest_uploaded_files_keeps_headings_and_pages(api, tenant_a, bot, storage, request):
    # Given upload storage on the embedded default (local signed PUT) or on S3 (moto over HTTP)
    if storage == "s3":
        request.getfixturevalue("moto_aws")
    from minirag.cli import build_worker
    from minirag.settings import get_settings

    worker = build_worker(api.template, get_settings())
    # And one upload source per file type, each file PUT to its presigned URL
    sources = {}
    for filename, (data, _, _, _) in UPLOADS.items():
        created = create_upload_source(api, tenant_a, bot["id"], filename)
        assert created["upload"]["url"].startswith("http://127.0.0.1")
        put_upload(api, created["upload"], data)
        sources[filename] = created

    # When each is ingested and the queue drained
    for created in sources.values():
        request_ingest(api, tenant_a, created["id"])
    worker.drain()

    # Then every source is ready and consistent, and retrieval finds its text with heading or page
    for filename, (_, query, heading, page) in UPLOADS.items():
        ready = get_source(api, tenant_a, sources[filename]["id"])
        assert_consistent(tenant_a, ready)
        hits = [h for h in retrieve(api, tenant_a, bot["id"], query, mode="sparse")
                if h["source_id"] == ready["id"]]
        assert hits, filename
        assert (hits[0]["heading"], hits[0]["page"]) == (heading, page), (filename, hits[0])


@pytest.mark.parametrize(("filename", "data", "reason"), [
    ("broken.pdf", b"%PDF-1.4 this is not a pdf", "the PDF is corrupt or unreadable"),
    ("broken.docx", b"PK\x03\x04 not a docx", "the DOCX file is corrupt or not a zip archive"),
    ("binary.txt", bytes(range(256)) * 8, "the file looks binary, not text"),
])
def test_ingest_unreadable_file_fails_at_once_with_reason(api, tenant_a, bot, filename, data, reason):
    # Given an uploaded file that cannot be read as its type
    created = create_upload_source(api, tenant_a, bot["id"], filename)
    put_upload(api, created["upload"], data)
    request_ingest(api, tenant_a, created["id"])

    # When the ingest handler receives the message
    event, _ = event_for(*take_queued())
    response = invoke_ingest(api, event)

    # Then the message is acknowledged at once (a permanent error is not retried)
    assert failed_ids(response) == []
    assert len(get_embedded_queue()) == 0 and get_embedded_queue().dead_letters == []
    # And the source is failed with a readable reason, with nothing indexed
    failed = get_source(api, tenant_a, created["id"])
    assert (failed["status"], failed["last_error"]) == ("error", reason)
    assert failed["finished_at"] is not None and failed["ready_version"] is None
    assert vector_count(tenant_a, created["id"]) == 0


def test_ingest_upload_before_put_returns_409_upload_missing(api, tenant_a, bot):
    # Given an upload source whose file was never PUT
    created = create_upload_source(api, tenant_a, bot["id"], "later.md")

    # When its ingest is requested
    response = api.post(f"/v1/sources/{created['id']}/ingest", token=tenant_a.token)

    # Then it answers 409 upload_missing, the source stays pending and nothing is queued
    assert_error(response, 409, "upload_missing", field="upload")
    assert get_source(api, tenant_a, created["id"])["status"] == "pending"
    assert take_queued() == []


def test_ingest_url_on_loopback_allowed_explicitly_becomes_ready(api, tenant_a, bot, web_server, monkeypatch,
                                                                 ingest_worker):
    # Given a page served from 127.0.0.1, and loopback explicitly allowed for this test
    web_server.pages["/faq.html"] = ("text/html; charset=utf-8",
                                     b"<html><body><h1>FAQ</h1><h2>Returns</h2>"
                                     b"<p>Returns are accepted for thirty days.</p></body></html>")
    monkeypatch.setenv("URL_FETCH_ALLOW_PRIVATE", "true")
    from minirag.settings import get_settings

    get_settings.cache_clear()
    source = make_source(api, tenant_a, bot["id"], source_type="url", content=None, name="FAQ",
                         url=f"{web_server.base_url}/faq.html")

    # When it is ingested
    request_ingest(api, tenant_a, source["id"])
    ingest_worker.drain()

    # Then it is ready and its text is retrievable
    ready = get_source(api, tenant_a, source["id"])
    assert_consistent(tenant_a, ready)
    hits = retrieve(api, tenant_a, bot["id"], "returns accepted thirty days", mode="sparse")
    assert hits[0]["source_id"] == source["id"] and hits[0]["heading"] == "FAQ > Returns"


def test_ingest_url_on_loopback_by_default_fails_with_ssrf_reason(api, tenant_a, bot, web_server, ingest_worker,
                                                                 monkeypatch):
    # Given a URL source on 127.0.0.1, created while private addresses were allowed (creation refuses
    # it otherwise), and then the default settings again (private addresses refused)
    from minirag.settings import get_settings

    web_server.pages["/internal.html"] = ("text/html", b"<p>internal secrets</p>")
    monkeypatch.setenv("URL_FETCH_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    source = make_source(api, tenant_a, bot["id"], source_type="url", content=None,
                         url=f"{web_server.base_url}/internal.html")
    monkeypatch.delenv("URL_FETCH_ALLOW_PRIVATE")
    get_settings.cache_clear()

    # When it is ingested
    request_ingest(api, tenant_a, source["id"])
    ingest_worker.drain()

    # Then it failed once, with the refusal as the reason, and nothing was fetched into the index
    failed = get_source(api, tenant_a, source["id"])
    assert failed["status"] == "error"
    assert "refusing to fetch '127.0.0.1'" in failed["last_error"] and "loopback" in failed["last_error"]
    assert get_embedded_queue().dead_letters == []
    assert vector_count(tenant_a, source["id"]) == 0
