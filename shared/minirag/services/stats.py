"""Usage, cost and feedback analytics of one tenant (`/v1/stats/*`).

The sums are SQL (`minirag.db.stats_rows`: GROUP BY UTC day, model, bot); prices are applied per
model group afterwards, from LiteLLM's own cost map (`minirag.llm.pricing`, an injected port): a
model the map does not know is reported as `pricing: "unknown"` with `cost_usd: None`, never priced
by guess; offline (`local/...`) models cost 0. Every day is a UTC calendar day."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from minirag.db import stats_rows
from minirag.db.scope import TenantScope
from minirag.errors import InvalidInput
from minirag.llm.pricing import ModelPrice, ModelPricing
from minirag.services.commands import StatsWindow

DEFAULT_DAYS = 30
MAX_DAYS = 366
MONTH_DAYS = 30  # the projection's month


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Window:
    first: date
    last: date  # inclusive
    bot_profile_id: uuid.UUID | None

    @property
    def start(self) -> datetime:
        return midnight(self.first)

    @property
    def end(self) -> datetime:  # exclusive: the midnight after the last day
        return midnight(self.last + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def each_day(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]


def resolve_window(query: StatsWindow, *, today: date | None = None) -> Window:
    """The UTC days a query covers; 422 naming the field for a range that makes no sense."""
    today = today or today_utc()
    if query.days is not None:
        if query.start is not None or query.end is not None:
            raise InvalidInput("days", "give either days or from/to, not both")
        if not 1 <= query.days <= MAX_DAYS:
            raise InvalidInput("days", f"must be between 1 and {MAX_DAYS}")
        return Window(today - timedelta(days=query.days - 1), today, query.bot_profile_id)
    last = query.end or today
    first = query.start or (last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        raise InvalidInput("to", "must not be earlier than from")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput("from", f"the range may cover at most {MAX_DAYS} days")
    return Window(first, last, query.bot_profile_id)


def _priced(price: ModelPrice, row: stats_rows.UsageRow) -> dict[str, Any]:
    return {
        "requests": row.requests, "prompt_tokens": row.prompt_tokens, "completion_tokens": row.completion_tokens,
        "total_tokens": row.total_tokens,
        "cost_usd": price.cost(row.prompt_tokens, row.completion_tokens, row.requests),
        "prompt_cost_per_1m": price.prompt_per_1m, "completion_cost_per_1m": price.completion_per_1m,
        "pricing": price.pricing,
    }


def _price_view(price: ModelPrice) -> dict[str, Any]:
    return {"model": price.model, "pricing": price.pricing, "prompt_cost_per_1m": price.prompt_per_1m,
            "completion_cost_per_1m": price.completion_per_1m}


class StatsService:
    def __init__(self, scope: TenantScope, pricing: ModelPricing, *, default_models: tuple[str, ...] = ()) -> None:
        self._scope = scope
        self._pricing = pricing
        self._default_models = default_models

    def overview(self) -> dict[str, Any]:
        """All-time counts of the tenant's (active) bots and sources, chats, messages, and tokens."""
        with self._scope.read():
            counts = stats_rows.counts(self._scope)
            totals = stats_rows.usage_totals(self._scope)
        return {**counts, "prompt_tokens": totals.prompt_tokens, "completion_tokens": totals.completion_tokens,
                "total_tokens": totals.total_tokens}

    def usage_by_day(self, query: StatsWindow) -> list[dict[str, Any]]:
        """One row per UTC day of the window, oldest first; days without usage are zeros."""
        window = resolve_window(query)
        with self._scope.read():
            rows = stats_rows.usage_by_day(self._scope, start=window.start, end=window.end,
                                           bot_profile_id=window.bot_profile_id)
        out = []
        for day in window.each_day():
            row = rows.get(day)
            out.append({"date": day.isoformat(), "requests": row.requests if row else 0,
                        "prompt_tokens": row.prompt_tokens if row else 0,
                        "completion_tokens": row.completion_tokens if row else 0,
                        "total_tokens": row.total_tokens if row else 0})
        return out

    def _by_model(self, window: Window) -> list[dict[str, Any]]:
        with self._scope.read():
            rows = stats_rows.usage_by_model(self._scope, start=window.start, end=window.end,
                                             bot_profile_id=window.bot_profile_id)
        out = [{"model": row.key[0], **_priced(self._pricing.price(row.key[0]), row)} for row in rows]
        return sorted(out, key=lambda r: (-r["total_tokens"], r["model"]))

    def _by_bot(self, window: Window) -> list[dict[str, Any]]:
        with self._scope.read():
            rows = stats_rows.usage_by_bot_and_model(self._scope, start=window.start, end=window.end,
                                                     bot_profile_id=window.bot_profile_id)
            names = stats_rows.bot_names(self._scope, [r.key[0] for r in rows if r.key[0] is not None])
        out = [{"bot_profile_id": str(bot_id) if bot_id else None, "bot_name": names.get(bot_id),
                "model": model, **_priced(self._pricing.price(model), row)} for row in rows
               for bot_id, model in [row.key]]
        return sorted(out, key=lambda r: (-r["total_tokens"], r["bot_profile_id"] or "", r["model"]))

    def usage_by_model(self, query: StatsWindow) -> list[dict[str, Any]]:
        return self._by_model(resolve_window(query))

    def usage_by_bot(self, query: StatsWindow) -> list[dict[str, Any]]:
        """One row per bot and model it used (a bot's model can change), priced by that model."""
        return self._by_bot(resolve_window(query))

    def cost_estimate(self, query: StatsWindow) -> dict[str, Any]:
        """The window's cost, its average per day (over every day of the window, used or not) and
        that average over a 30-day month. Unknown models' tokens are left out of the cost and named."""
        window = resolve_window(query)
        by_model = self._by_model(window)
        by_bot = self._by_bot(window)
        with self._scope.read():
            active = stats_rows.active_days(self._scope, start=window.start, end=window.end,
                                            bot_profile_id=window.bot_profile_id)
        total = sum(r["cost_usd"] for r in by_model if r["cost_usd"] is not None)
        daily = total / window.days
        return {"days": window.days, "from": window.first.isoformat(), "to": window.last.isoformat(),
                "active_days": active, "total_cost_usd": total, "daily_average_usd": daily,
                "projected_monthly_usd": daily * MONTH_DAYS, "by_model": by_model, "by_bot": by_bot,
                "unpriced_models": sorted(r["model"] for r in by_model if r["cost_usd"] is None)}

    def pricing(self, model: str | None = None) -> dict[str, Any]:
        """One model's price, or those of every model the tenant used or its bots name (and the
        platform's defaults)."""
        if model is not None:
            models = [model]
        else:
            with self._scope.read():
                models = sorted({*stats_rows.used_models(self._scope), *self._default_models})
        return {"source": self._pricing.source, "models": [_price_view(self._pricing.price(m)) for m in models]}

    def feedback(self, query: StatsWindow) -> dict[str, Any]:
        """Answers given in the window and their ratings; positive_rate is over the rated ones."""
        window = resolve_window(query)
        with self._scope.read():
            rows = stats_rows.feedback(self._scope, start=window.start, end=window.end,
                                       bot_profile_id=window.bot_profile_id, by_day=False)
        row = rows[0] if rows else stats_rows.FeedbackRow(None, 0, 0, 0)
        rated = row.positive + row.negative
        return {"answers": row.answers, "rated": rated, "positive": row.positive, "negative": row.negative,
                "unrated": row.answers - rated, "positive_rate": row.positive / rated if rated else None}

    def feedback_trend(self, query: StatsWindow) -> list[dict[str, Any]]:
        """Per UTC day of the answers: how many were given and rated each way, oldest first."""
        window = resolve_window(query)
        with self._scope.read():
            rows = {r.day: r for r in stats_rows.feedback(self._scope, start=window.start, end=window.end,
                                                          bot_profile_id=window.bot_profile_id, by_day=True)}
        return [{"date": day.isoformat(), "answers": rows[day].answers if day in rows else 0,
                 "positive": rows[day].positive if day in rows else 0,
                 "negative": rows[day].negative if day in rows else 0} for day in window.each_day()]
