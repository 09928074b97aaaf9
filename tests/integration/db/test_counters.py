"""The limit counters on SQLite and PostgreSQL: the upsert-increment is atomic under concurrent
writers (one per thread, as Lambda containers would be), windows expire, and tenants' keys are apart;
count limits hold when creations race."""

from __future__ import annotations

import threading
import uuid

from minirag.db.counters import Counters, TenantCounters
from minirag.db.engine import get_session_factory
from minirag.db.models import Tenant
from minirag.db.system import SystemRepository

NOW = 1_800_000_000


def _bump(key: str, times: int, *, now: int = NOW, expires_at: int = NOW + 60) -> list[int]:
    seen = []
    with get_session_factory()() as session:
        system = SystemRepository(session)
        for _ in range(times):
            with system.write():
                seen.append(Counters(session).bump(key, now=now, expires_at=expires_at).count)
    return seen


def test_concurrent_bumps_lose_no_count():
    # Given 8 writers, each with its own connection
    results: list[list[int]] = []
    threads = [threading.Thread(target=lambda: results.append(_bump("race", 25))) for _ in range(8)]

    # When they bump one key 25 times each, at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then the count is exactly 200 and every bump saw a different count
    seen = sorted(c for r in results for c in r)
    assert seen == list(range(1, 201))


def test_an_expired_window_starts_again():
    # Given a key bumped 3 times in a window ending at NOW + 60
    _bump("window", 3)

    # When it is bumped after the window ended
    after = _bump("window", 1, now=NOW + 60, expires_at=NOW + 120)

    # Then the count started again at 1, and a peek inside the old window is 0 once past it
    assert after == [1]
    with get_session_factory()() as session, SystemRepository(session).read():
        assert Counters(session).peek("window", now=NOW + 121).count == 0


def test_tenant_counters_are_apart():
    # Given two tenants' counters of the same name
    with get_session_factory()() as session:
        system = SystemRepository(session)
        a, b = uuid.uuid4(), uuid.uuid4()
        with system.write():
            system.add_tenant(Tenant(id=a, name="a", slug="a-counters"))
            system.add_tenant(Tenant(id=b, name="b", slug="b-counters"))
        # When A bumps its counter twice
        with system.write():
            TenantCounters(session, a).bump("turns", now=NOW, expires_at=NOW + 60)
            TenantCounters(session, a).bump("turns", now=NOW, expires_at=NOW + 60)
        # Then B's is untouched
        with system.read():
            assert TenantCounters(session, a).peek("turns", now=NOW).count == 2
            assert TenantCounters(session, b).peek("turns", now=NOW).count == 0
