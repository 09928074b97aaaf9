"""The /v1/stats queries at 1M usage events.

    .venv/bin/python bench/stats_query.py                                   # SQLite, 1,000,000 events
    .venv/bin/python bench/stats_query.py --postgres postgresql://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/stats_query.py --events 100000 --repeat 3        # quick look

A fresh database is migrated with the real Alembic migrations (so the covering index
`ix_usage_event_stats` is the one production has), then bulk-loaded (Core executemany in batches):
`--events` usage events for the measured tenant spread over the last 365 days across 20 bots and 4
models (priced, embedding, offline, unknown), a tenth as many for a second tenant (so every query
must skip rows of another tenant), and 1,000 chats with 100 messages each (a third of the answers
rated) for the feedback queries. Each stats route's service call (`minirag.services.stats`, through
`TenantScope`, prices included) is timed `--repeat` times; the median is printed beside the median
of a reference in the same run: `SELECT count(*) FROM usage_event` (the whole table, no filter).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))

MODELS = ["gpt-4o-mini", "text-embedding-3-small", "local/extractive", "acme/unknown-model"]
BATCH = 20_000


def load(url: str, events: int, seed: int = 7) -> tuple[uuid.UUID, uuid.UUID]:
    from sqlalchemy import create_engine, insert, text

    from minirag.db.models import (
        BotProfile,
        Chat,
        Message,
        MessageFeedback,
        MessageRole,
        Tenant,
        UsageEvent,
        UsageKind,
    )

    rng = random.Random(seed)
    engine = create_engine(url)
    now = datetime.now(timezone.utc)
    tenants = [uuid.uuid4(), uuid.uuid4()]
    with engine.begin() as conn:
        conn.execute(insert(Tenant.__table__), [{"id": t, "name": f"bench {n}", "slug": f"bench-{n}", "is_active": True,
                                                 "created_at": now, "updated_at": now} for n, t in enumerate(tenants)])
        bots = {t: [uuid.uuid4() for _ in range(20)] for t in tenants}
        conn.execute(insert(BotProfile.__table__), [
            {"id": b, "tenant_id": t, "name": f"bot {n}", "system_prompt": "", "model": MODELS[n % 4],
             "embedding_model": "text-embedding-3-small", "temperature": 0.2, "max_tokens": 512, "top_k": 5,
             "min_score": 0.0, "is_active": True, "created_at": now, "updated_at": now}
            for t in tenants for n, b in enumerate(bots[t])])
    started = time.perf_counter()
    for tenant, count in ((tenants[0], events), (tenants[1], events // 10)):
        done = 0
        while done < count:
            size = min(BATCH, count - done)
            rows = []
            for _ in range(size):
                at = now - timedelta(seconds=rng.randrange(365 * 86400))
                prompt, completion = rng.randrange(50, 4000), rng.randrange(0, 800)
                rows.append({"id": uuid.uuid4(), "tenant_id": tenant, "kind": UsageKind.chat,
                             "model": rng.choice(MODELS), "bot_profile_id": rng.choice(bots[tenant]),
                             "prompt_tokens": prompt, "completion_tokens": completion,
                             "total_tokens": prompt + completion, "created_at": at, "updated_at": at})
            with engine.begin() as conn:
                conn.execute(insert(UsageEvent.__table__), rows)
            done += size
    loaded = time.perf_counter() - started
    with engine.begin() as conn:
        chats = [{"id": uuid.uuid4(), "tenant_id": tenants[0], "bot_profile_id": rng.choice(bots[tenants[0]]),
                  "title": "bench", "message_count": 100, "prompt_tokens": 0, "completion_tokens": 0,
                  "total_tokens": 0, "created_at": now, "updated_at": now} for _ in range(1000)]
        conn.execute(insert(Chat.__table__), chats)
        feedback = [MessageFeedback.positive, MessageFeedback.negative, None, None, None, None]
        for start in range(0, len(chats), 100):
            rows = []
            for chat in chats[start:start + 100]:
                for n in range(100):
                    at = now - timedelta(seconds=rng.randrange(365 * 86400))
                    role = MessageRole.assistant if n % 2 else MessageRole.user
                    rows.append({"id": uuid.uuid4(), "tenant_id": tenants[0], "chat_id": chat["id"], "role": role,
                                 "content": "bench", "citations": [], "prompt_tokens": 0, "completion_tokens": 0,
                                 "feedback": rng.choice(feedback) if n % 2 else None,
                                 "created_at": at, "updated_at": at})
            conn.execute(insert(Message.__table__), rows)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("VACUUM ANALYZE" if url.startswith("postgresql") else "ANALYZE"))
    engine.dispose()
    print(f"  loaded {events + events // 10:,} usage events in {loaded:.1f} s "
          f"({(events + events // 10) / loaded:,.0f}/s), 100,000 messages")
    return tenants[0], bots[tenants[0]][0]


def timed(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm: the first call also reads the price map and plans the statement
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def measure(url: str, tenant_id: uuid.UUID, bot_id: uuid.UUID, repeat: int) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import sessionmaker

    from minirag.db.scope import TenantScope
    from minirag.llm.pricing import get_pricing
    from minirag.services.commands import StatsWindow
    from minirag.services.stats import StatsService

    engine = create_engine(url)
    session = sessionmaker(engine)()
    service = StatsService(TenantScope(session, tenant_id), get_pricing(), default_models=("gpt-4o-mini",))

    def reference() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM usage_event")).scalar_one()

    last30, year = StatsWindow(days=30), StatsWindow(days=366)
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("overview (all time)", service.overview),
        ("usage per day, 30 days", lambda: service.usage_by_day(last30)),
        ("usage per day, 366 days (all)", lambda: service.usage_by_day(year)),
        ("usage per day, 30 days, one bot", lambda: service.usage_by_day(StatsWindow(days=30, bot_profile_id=bot_id))),
        ("usage by model, 30 days", lambda: service.usage_by_model(last30)),
        ("usage by model, 366 days", lambda: service.usage_by_model(year)),
        ("usage by bot, 30 days", lambda: service.usage_by_bot(last30)),
        ("usage by bot, 366 days", lambda: service.usage_by_bot(year)),
        ("cost estimate, 30 days", lambda: service.cost_estimate(last30)),
        ("pricing", service.pricing),
        ("feedback, 30 days", lambda: service.feedback(last30)),
        ("feedback trend, 366 days", lambda: service.feedback_trend(year)),
    ]
    ref = timed(reference, repeat)
    print(f"  {'reference: SELECT count(*) FROM usage_event':<46} {ref:9.1f} ms   1.00x")
    for name, fn in cases:
        ms = timed(fn, repeat)
        print(f"  {name:<46} {ms:9.1f} ms {ms / ref:6.2f}x")
    session.close()
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", help="also run on this (empty, throw-away) PostgreSQL database")
    args = parser.parse_args(argv)

    from minirag.db.migrate import upgrade
    from minirag.settings import Settings

    targets = [("SQLite", f"sqlite:///{Path(tempfile.mkdtemp(prefix='minirag-stats-')) / 'bench.db'}")]
    if args.postgres:
        targets.append(("PostgreSQL", Settings(database_url=args.postgres).resolved_database_url))
    for label, url in targets:
        if url.startswith("postgresql"):
            from sqlalchemy import create_engine, text

            engine = create_engine(url)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            engine.dispose()
        upgrade(url)
        print(f"{label}:")
        tenant_id, bot_id = load(url, args.events)
        measure(url, tenant_id, bot_id, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
