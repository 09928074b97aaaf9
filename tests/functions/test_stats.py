"""StatsFunction through the real Lambda handler: `/v1/stats/*` aggregate the tenant's usage events
(GROUP BY UTC day in SQL) and price them from LiteLLM's own model cost map. Usage events are written
through a TenantScope with chosen instants, as the chat and ingest paths write them, so the days
and sums are known; runs on SQLite and PostgreSQL (same answers)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from importlib.util import find_spec
from pathlib import Path

import pytest

from minirag.db.engine import get_session_factory
from minirag.db.models import MessageFeedback, UsageEvent, UsageKind
from minirag.db.scope import TenantScope
from tests.assertions import assert_error
from tests.factories import make_bot_profile, make_source

PRICED = "gpt-4o-mini"
OFFLINE = "local/extractive"
UNKNOWN = "acme/never-heard-of-it"


def litellm_prices(model: str) -> tuple[float, float]:
    """The (input, output) USD per token of the installed LiteLLM's bundled map, read in the test."""
    path = Path(find_spec("litellm").origin).parent / "model_prices_and_context_window_backup.json"
    entry = json.loads(path.read_text())[model]
    return entry["input_cost_per_token"], entry["output_cost_per_token"]


def add_usage(tenant, at: datetime, *, model: str = PRICED, bot_id: str | None = None, prompt: int = 0,
              completion: int = 0, kind: UsageKind = UsageKind.chat) -> None:
    with get_session_factory()() as session:
        scope = TenantScope(session, uuid.UUID(tenant.id))
        with scope.write():
            scope.add(UsageEvent(id=uuid.uuid4(), kind=kind, model=model,
                                 bot_profile_id=uuid.UUID(bot_id) if bot_id else None, prompt_tokens=prompt,
                                 completion_tokens=completion, total_tokens=prompt + completion, created_at=at,
                                 updated_at=at))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def stats(api, tenant, route: str, **query):
    return api.get(f"/v1/stats/{route}", token=tenant.token, query=query)


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a, name="Priced bot")


# -- per day, across midnight ---------------------------------------------------------------------

def test_usage_per_day_splits_events_at_utc_midnight(api, tenant_a, bot):
    # Given events one second either side of midnight UTC, and one at 00:30 in UTC+1 (23:30 UTC)
    add_usage(tenant_a, utc(2026, 11, 30, 23, 59, 59), bot_id=bot["id"], prompt=100, completion=10)
    add_usage(tenant_a, datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), bot_id=bot["id"],
              prompt=5, completion=1)
    add_usage(tenant_a, utc(2026, 12, 1, 0, 0, 1), bot_id=bot["id"], prompt=200, completion=20)
    add_usage(tenant_a, utc(2026, 12, 3, 12), bot_id=bot["id"], prompt=7)  # outside the range

    # When the usage from Nov 29 to Dec 2 is read per day
    response = stats(api, tenant_a, "usage", **{"from": "2026-11-29", "to": "2026-12-02"})

    # Then each event is on its UTC day, every day of the range is listed, oldest first
    assert response.status == 200, response.body
    assert response.json == [
        {"date": "2026-11-29", "requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        {"date": "2026-11-30", "requests": 2, "prompt_tokens": 105, "completion_tokens": 11, "total_tokens": 116},
        {"date": "2026-12-01", "requests": 1, "prompt_tokens": 200, "completion_tokens": 20, "total_tokens": 220},
        {"date": "2026-12-02", "requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    ]


def test_usage_filters_by_bot(api, tenant_a, bot):
    # Given usage of two bots on one day
    other = make_bot_profile(api, tenant_a, name="Other bot")
    add_usage(tenant_a, utc(2026, 12, 1, 9), bot_id=bot["id"], prompt=10)
    add_usage(tenant_a, utc(2026, 12, 1, 10), bot_id=other["id"], prompt=1000)

    # When one bot's usage is read
    response = stats(api, tenant_a, "usage", **{"from": "2026-12-01", "to": "2026-12-01", "bot_profile_id": bot["id"]})

    # Then only its events count
    assert response.status == 200, response.body
    assert [(d["date"], d["prompt_tokens"]) for d in response.json] == [("2026-12-01", 10)]


def test_days_window_ends_today_utc(api, tenant_a, bot):
    # Given an event now and one 10 days ago
    now = datetime.now(timezone.utc)
    add_usage(tenant_a, now, bot_id=bot["id"], prompt=3)
    add_usage(tenant_a, now - timedelta(days=10), bot_id=bot["id"], prompt=50)

    # When the last 7 days are read
    response = stats(api, tenant_a, "usage", days=7)

    # Then 7 days are listed, ending today, with only today's event
    assert response.status == 200, response.body
    assert len(response.json) == 7 and response.json[-1]["date"] == now.date().isoformat()
    assert sum(d["prompt_tokens"] for d in response.json) == 3


# -- cost -------------------------------------------------------------------------------------------

def test_usage_by_model_prices_from_litellm_map_offline_zero_unknown_flagged(api, tenant_a, bot):
    # Given a priced, an offline and an unknown model's usage
    add_usage(tenant_a, utc(2026, 12, 1, 8), model=PRICED, bot_id=bot["id"], prompt=1_000_000, completion=500_000)
    add_usage(tenant_a, utc(2026, 12, 1, 9), model=PRICED, bot_id=bot["id"], prompt=1000, completion=0)
    add_usage(tenant_a, utc(2026, 12, 1, 9), model=OFFLINE, bot_id=bot["id"], prompt=400, completion=40)
    add_usage(tenant_a, utc(2026, 12, 1, 9), model=UNKNOWN, bot_id=bot["id"], prompt=10, completion=1)

    # When usage is read by model
    response = stats(api, tenant_a, "usage/by-model", **{"from": "2026-12-01", "to": "2026-12-01"})

    # Then the priced model costs what LiteLLM's map says, the offline one 0, the unknown one null
    assert response.status == 200, response.body
    rows = {r["model"]: r for r in response.json}
    inp, out = litellm_prices(PRICED)
    assert rows[PRICED]["requests"] == 2 and rows[PRICED]["prompt_tokens"] == 1_001_000
    assert rows[PRICED]["cost_usd"] == pytest.approx(1_001_000 * inp + 500_000 * out)
    assert rows[PRICED]["cost_usd"] > 0
    assert rows[PRICED]["prompt_cost_per_1m"] == pytest.approx(inp * 1e6)
    assert rows[PRICED]["completion_cost_per_1m"] == pytest.approx(out * 1e6)
    assert rows[PRICED]["pricing"] == "litellm"
    assert rows[OFFLINE]["cost_usd"] == 0 and rows[OFFLINE]["pricing"] == "offline"
    assert rows[OFFLINE]["prompt_cost_per_1m"] == 0
    assert rows[UNKNOWN]["cost_usd"] is None and rows[UNKNOWN]["pricing"] == "unknown"
    assert rows[UNKNOWN]["prompt_cost_per_1m"] is None and rows[UNKNOWN]["total_tokens"] == 11


def test_usage_by_bot_names_each_bot_and_model(api, tenant_a, bot):
    # Given two bots' usage
    other = make_bot_profile(api, tenant_a, name="Other bot")
    add_usage(tenant_a, utc(2026, 12, 1, 8), bot_id=bot["id"], prompt=2_000_000)
    add_usage(tenant_a, utc(2026, 12, 1, 8), model=OFFLINE, bot_id=other["id"], prompt=10)

    # When usage is read by bot
    response = stats(api, tenant_a, "usage/by-bot", **{"from": "2026-12-01", "to": "2026-12-01"})

    # Then each bot has its name, model, tokens and cost
    assert response.status == 200, response.body
    rows = {r["bot_profile_id"]: r for r in response.json}
    inp, _ = litellm_prices(PRICED)
    assert rows[bot["id"]]["bot_name"] == "Priced bot" and rows[bot["id"]]["model"] == PRICED
    assert rows[bot["id"]]["cost_usd"] == pytest.approx(2_000_000 * inp)
    assert rows[other["id"]]["bot_name"] == "Other bot" and rows[other["id"]]["cost_usd"] == 0


def test_cost_estimate_projects_a_month_from_the_window(api, tenant_a, bot):
    # Given priced usage today and 2 days ago, and an unknown model's
    now = datetime.now(timezone.utc)
    add_usage(tenant_a, now, bot_id=bot["id"], prompt=1_000_000)
    add_usage(tenant_a, now - timedelta(days=2), bot_id=bot["id"], completion=1_000_000)
    add_usage(tenant_a, now, model=UNKNOWN, bot_id=bot["id"], prompt=5)

    # When the cost of the last 10 days is estimated
    response = stats(api, tenant_a, "cost-estimate", days=10)

    # Then total, daily average (over the 10 days), the 30-day projection and the active days add up
    assert response.status == 200, response.body
    body = response.json
    inp, out = litellm_prices(PRICED)
    total = 1_000_000 * inp + 1_000_000 * out
    assert body["days"] == 10 and body["active_days"] == 2
    assert body["total_cost_usd"] == pytest.approx(total)
    assert body["daily_average_usd"] == pytest.approx(total / 10)
    assert body["projected_monthly_usd"] == pytest.approx(total / 10 * 30)
    assert {r["model"] for r in body["by_model"]} == {PRICED, UNKNOWN}
    assert [r["bot_profile_id"] for r in body["by_bot"]] == [bot["id"], bot["id"]]
    assert body["unpriced_models"] == [UNKNOWN]


def test_pricing_lists_the_tenants_models_with_their_source(api, tenant_a):
    # Given a bot on a priced model
    make_bot_profile(api, tenant_a, name="Priced", model=PRICED, provider_api_key="sk-test-0123456789abcdef")

    # When the pricing is read, and one unknown model looked up
    listed = stats(api, tenant_a, "pricing")
    looked_up = stats(api, tenant_a, "pricing", model=UNKNOWN)

    # Then the bot's model is priced from LiteLLM's map (named with its version), unknown says so
    assert listed.status == 200, listed.body
    assert listed.json["source"].startswith("litellm ")
    rows = {r["model"]: r for r in listed.json["models"]}
    inp, out = litellm_prices(PRICED)
    assert rows[PRICED]["prompt_cost_per_1m"] == pytest.approx(inp * 1e6)
    assert rows[PRICED]["completion_cost_per_1m"] == pytest.approx(out * 1e6)
    assert looked_up.json["models"] == [{"model": UNKNOWN, "pricing": "unknown", "prompt_cost_per_1m": None,
                                         "completion_cost_per_1m": None}]


# -- overview, feedback -----------------------------------------------------------------------------

def ask(api, tenant, bot_id: str, message: str) -> dict:
    response = api.post("/v1/chat", {"bot_profile_id": bot_id, "message": message}, token=tenant.token)
    assert response.status == 200, response.body
    return response.json


def test_overview_counts_the_tenants_things_and_tokens(api, tenant_a, tenant_b, bot):
    # Given A's bot with a source and two chats, usage for A, and B's own bot and usage
    make_source(api, tenant_a, bot["id"])
    ask(api, tenant_a, bot["id"], "one?")
    ask(api, tenant_a, bot["id"], "two?")
    add_usage(tenant_a, utc(2026, 12, 1), bot_id=bot["id"], prompt=30, completion=12)
    b_bot = make_bot_profile(api, tenant_b)
    add_usage(tenant_b, utc(2026, 12, 1), bot_id=b_bot["id"], prompt=999_999)

    # When A reads the overview
    response = stats(api, tenant_a, "overview")

    # Then it counts only A's
    assert response.status == 200, response.body
    assert response.json == {"bots": 1, "sources": 1, "chats": 2, "messages": 4, "prompt_tokens": 30,
                             "completion_tokens": 12, "total_tokens": 42}


def _rate(api, tenant, turn: dict, feedback: str) -> None:
    response = api.patch(f"/v1/chat/{turn['chat_id']}/messages/{turn['message_id']}/feedback",
                         {"feedback": feedback}, token=tenant.token)
    assert response.status == 200, response.body


def test_feedback_counts_and_trend(api, tenant_a, tenant_b, bot):
    # Given three answers today: two rated positive, one negative, one unrated; B rates its own
    turns = [ask(api, tenant_a, bot["id"], f"q{n}?") for n in range(4)]
    _rate(api, tenant_a, turns[0], "positive")
    _rate(api, tenant_a, turns[1], "positive")
    _rate(api, tenant_a, turns[2], "negative")
    b_turn = ask(api, tenant_b, make_bot_profile(api, tenant_b)["id"], "b?")
    _rate(api, tenant_b, b_turn, "negative")

    # When A reads its feedback and its trend over the last 3 days
    summary = stats(api, tenant_a, "feedback", days=3)
    trend = stats(api, tenant_a, "feedback/trend", days=3)

    # Then the counts are A's only, and today's row carries them
    assert summary.status == 200, summary.body
    assert summary.json == {"answers": 4, "rated": 3, "positive": 2, "negative": 1, "unrated": 1,
                            "positive_rate": pytest.approx(2 / 3)}
    assert trend.status == 200, trend.body
    today = datetime.now(timezone.utc).date().isoformat()
    assert [d["date"] for d in trend.json][-1] == today and len(trend.json) == 3
    assert trend.json[-1] == {"date": today, "answers": 4, "positive": 2, "negative": 1}
    assert MessageFeedback.positive.value == "positive"


# -- bad input ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("route", "query", "field"), [
    ("usage", {"from": "yesterday"}, "from"),
    ("usage", {"to": "2026-13-01"}, "to"),
    ("usage", {"from": "2026-12-05", "to": "2026-12-01"}, "to"),
    ("usage", {"days": 0}, "days"),
    ("usage", {"days": 5000}, "days"),
    ("usage", {"days": 3, "from": "2026-12-01"}, "days"),
    ("usage", {"from": "2020-01-01", "to": "2026-12-01"}, "from"),
    ("usage/by-model", {"bot_profile_id": "not-a-uuid"}, "bot_profile_id"),
    ("usage/by-bot", {"days": "x"}, "days"),
    ("cost-estimate", {"days": 0}, "days"),
    ("feedback", {"from": "2026-12-05", "to": "2026-12-01"}, "to"),
    ("feedback/trend", {"days": -1}, "days"),
    ("pricing", {"model": ""}, "model"),
])
def test_bad_parameters_are_422_naming_the_field(api, tenant_a, route, query, field):
    response = stats(api, tenant_a, route, **query)
    assert_error(response, 422, field=field)


def test_stats_need_a_credential(api):
    assert_error(api.get("/v1/stats/overview"), 401)
