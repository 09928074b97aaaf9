"""No statistics cross tenants: sparse (BM25) scores depend only on the caller's own data.

The attack: with a shared collection and Qdrant's collection-wide IDF, tenant C learned which words
occur in tenant A's secret document (a word present elsewhere scored 1.127, an absent one 1.958, on
identical own data). Here C's scores must be byte-identical whether or not A planted the words."""

from __future__ import annotations

import pytest

from tests.conftest import bootstrap_tenant, reset_caches
from tests.factories import make_bot_profile, make_ingested_source
from tests.integration.ingest.support import retrieve

OWN_TEXT = ("Quarterly planning notes. The orchid project ships in spring. "
            "The nebula budget is approved and the orchid team grows.")
SECRET = "Merger codename nebula orchid: acquisition of Zephyrcorp closes in March. " * 3
QUERY = "nebula orchid zephyrcorp spring"


@pytest.fixture(params=["qdrant", "qdrant-edge"])
def vector_backend(request, monkeypatch):
    monkeypatch.setenv("VECTOR_BACKEND", request.param)
    reset_caches()
    return request.param


def _scores(api, tenant, bot_id: str) -> list[tuple[str, float]]:
    return [(hit["text"], hit["score"]) for hit in retrieve(api, tenant, bot_id, QUERY, mode="sparse")]


def _own_scores(api, ingest_worker, slug: str) -> list[tuple[str, float]]:
    tenant = bootstrap_tenant(api, slug)
    bot = make_bot_profile(api, tenant)
    make_ingested_source(api, tenant, bot["id"], ingest_worker, content=OWN_TEXT)
    return _scores(api, tenant, bot["id"])


def test_sparse_scores_do_not_reveal_another_tenants_words(api, ingest_worker, vector_backend):
    # Given tenant C's own data and its scores while no other tenant holds those words
    baseline = _own_scores(api, ingest_worker, "tenant-c1")
    assert baseline, "the query must match C's own text"

    # When tenant A plants the query's words many times in a secret source
    a = bootstrap_tenant(api, "tenant-a")
    a_bot = make_bot_profile(api, a)
    for _ in range(3):
        make_ingested_source(api, a, a_bot["id"], ingest_worker, content=SECRET)
    assert _scores(api, a, a_bot["id"]), "A's secret is indexed"

    # Then a tenant with exactly C's data sees exactly C's scores: nothing of A leaks into them
    assert _own_scores(api, ingest_worker, "tenant-c2") == baseline
