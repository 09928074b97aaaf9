"""Scheduled refresh through the real scheduled function (the EventBridge event the local runner
builds) and the real ingest worker, against a page on 127.0.0.1: a due URL source is re-ingested;
unchanged content keeps its vectors with no embedding call; changed content is re-embedded;
schedules are URL-only and validated; editing a URL marks the source stale."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from minirag.db.base import utcnow
from minirag.db.models import Source
from minirag.llm.gateway import LLMGateway
from minirag.local.events import LambdaContext, scheduled_event
from minirag.local.template import load_handler
from tests.assertions import assert_error
from tests.factories import make_bot_profile, make_source
from tests.integration.ingest.support import get_source, request_ingest, retrieve


@pytest.fixture
def site(web_server, monkeypatch):
    from tests.conftest import reset_caches

    monkeypatch.setenv("URL_FETCH_ALLOW_PRIVATE", "true")
    reset_caches()
    web_server.pages["/faq.html"] = ("text/html", b"<h1>FAQ</h1><p>Returns are accepted for thirty days.</p>")
    return web_server


@pytest.fixture
def refresh(api):
    handler = load_handler(api.template, api.template.functions["RefreshFunction"])
    return lambda: handler(scheduled_event(), LambdaContext(function_name="RefreshFunction"))


@pytest.fixture
def embeddings(monkeypatch):
    calls: list[list[str]] = []
    original = LLMGateway.embed

    def counting(self, texts, **kwargs):
        calls.append(list(texts))
        return original(self, texts, **kwargs)

    monkeypatch.setattr(LLMGateway, "embed", counting)
    return calls


def _age(tenant, source_id: str, hours: float) -> None:
    """Pretend the source was last refreshed (and ingested) `hours` ago."""
    from minirag.db.engine import get_session_factory
    from minirag.db.scope import TenantScope

    with get_session_factory()() as session:
        scope = TenantScope(session, uuid.UUID(tenant.id))
        with scope.write():
            row = scope.get(Source, uuid.UUID(source_id))
            row.last_refreshed_at = utcnow() - timedelta(hours=hours)
            row.finished_at = utcnow() - timedelta(hours=hours)


@pytest.fixture
def url_source(api, tenant_a, site, ingest_worker):
    bot = make_bot_profile(api, tenant_a)
    source = make_source(api, tenant_a, bot["id"], source_type="url", content=None, name="FAQ",
                         url=f"{site.base_url}/faq.html", refresh_schedule="hourly")
    request_ingest(api, tenant_a, source["id"])
    ingest_worker.drain()
    ready = get_source(api, tenant_a, source["id"])
    assert ready["status"] == "ready" and ready["refresh_schedule"] == "hourly"
    return {**ready, "bot": bot}


def test_unchanged_content_is_refreshed_without_embedding_anything(api, tenant_a, url_source, refresh,
                                                                   ingest_worker, embeddings):
    # Given a source not refreshed for two hours (hourly schedule)
    _age(tenant_a, url_source["id"], 2)

    # When the scheduled function runs and the worker drains
    report = refresh()
    ingest_worker.drain()

    # Then it was re-ingested from the same bytes: the served version is kept, nothing was embedded
    assert report["queued"] == [url_source["id"]]
    after = get_source(api, tenant_a, url_source["id"])
    assert after["status"] == "ready" and after["ready_version"] == url_source["ready_version"]
    assert after["chunk_count"] == url_source["chunk_count"] and after["last_refreshed_at"]
    assert embeddings == []
    assert retrieve(api, tenant_a, url_source["bot"]["id"], "returns thirty days", mode="sparse")
    # And it is not due again in the same hour
    assert refresh()["queued"] == []


def test_changed_content_is_re_embedded(api, tenant_a, url_source, site, refresh, ingest_worker, embeddings):
    site.pages["/faq.html"] = ("text/html", b"<h1>FAQ</h1><p>Returns are accepted for sixty days.</p>")
    _age(tenant_a, url_source["id"], 2)

    assert refresh()["queued"] == [url_source["id"]]
    ingest_worker.drain()

    after = get_source(api, tenant_a, url_source["id"])
    assert after["status"] == "ready" and after["ready_version"] > url_source["ready_version"]
    assert embeddings and any("sixty" in text for batch in embeddings for text in batch)
    hits = retrieve(api, tenant_a, url_source["bot"]["id"], "returns sixty days", mode="sparse")
    assert "sixty" in hits[0]["text"]


def test_sources_not_due_or_not_scheduled_are_left_alone(api, tenant_a, url_source, refresh):
    assert refresh()["queued"] == []  # refreshed (ingested) just now
    api.patch(f"/v1/sources/{url_source['id']}", {"refresh_schedule": "none"}, token=tenant_a.token)
    _age(tenant_a, url_source["id"], 24 * 30)
    assert refresh()["queued"] == []


def test_a_run_is_bounded_and_fair_across_tenants(api, tenant_a, tenant_b, site, ingest_worker, refresh,
                                                   monkeypatch):
    from tests.conftest import reset_caches

    monkeypatch.setenv("REFRESH_MAX_PER_RUN", "2")
    reset_caches()
    made = {}
    for tenant, count in ((tenant_a, 3), (tenant_b, 1)):
        bot = make_bot_profile(api, tenant)
        for n in range(count):
            source = make_source(api, tenant, bot["id"], source_type="url", content=None, name=f"p{n}",
                                 url=f"{site.base_url}/faq.html", refresh_schedule="daily")
            request_ingest(api, tenant, source["id"])
            made[source["id"]] = tenant
    ingest_worker.drain()
    for source_id, tenant in made.items():
        _age(tenant, source_id, 48)

    queued = refresh()["queued"]

    assert len(queued) == 2 and {made[s].slug for s in queued} == {tenant_a.slug, tenant_b.slug}


def test_schedules_are_for_url_sources_and_validated(api, tenant_a, site):
    bot = make_bot_profile(api, tenant_a)
    text = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "T", "source_type": "text",
                                    "content": "x", "refresh_schedule": "daily"}, token=tenant_a.token)
    assert_error(text, 422, field="refresh_schedule")
    bad = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "U", "source_type": "url",
                                   "url": f"{site.base_url}/faq.html", "refresh_schedule": "monthly"},
                   token=tenant_a.token)
    assert_error(bad, 422, field="refresh_schedule")
    plain = make_source(api, tenant_a, bot["id"])
    assert_error(api.patch(f"/v1/sources/{plain['id']}", {"refresh_schedule": "weekly"}, token=tenant_a.token),
                 422, field="refresh_schedule")


def test_editing_the_url_marks_the_source_stale_until_ingested(api, tenant_a, url_source, site, ingest_worker):
    site.pages["/new.html"] = ("text/html", b"<p>New page.</p>")
    edited = api.patch(f"/v1/sources/{url_source['id']}", {"url": f"{site.base_url}/new.html"}, token=tenant_a.token)
    assert edited.status == 200 and edited.json["stale"] is True
    request_ingest(api, tenant_a, url_source["id"])
    ingest_worker.drain()
    assert get_source(api, tenant_a, url_source["id"])["stale"] is False
