"""Response models of /v1/stats/*. Days are UTC calendar days (`YYYY-MM-DD`); costs are USD from
LiteLLM's model cost map (`pricing`: litellm, offline (0) or unknown (cost null, never guessed))."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from minirag.api.schemas.common import PublicModel

Pricing = Literal["litellm", "offline", "unknown"]


class OverviewPublic(PublicModel):
    bots: int = Field(description="active bot profiles")
    sources: int = Field(description="active sources")
    chats: int
    messages: int
    prompt_tokens: int = Field(description="all time, every kind of model call (chat, rewrite, embedding)")
    completion_tokens: int
    total_tokens: int


class UsageDayPublic(PublicModel):
    date: str = Field(description="UTC day, YYYY-MM-DD")
    requests: int = Field(description="model calls recorded that day")
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class _PricedUsage(PublicModel):
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float | None = Field(description="null when the model's price is unknown")
    prompt_cost_per_1m: float | None = Field(description="USD per million prompt tokens")
    completion_cost_per_1m: float | None = Field(description="USD per million completion tokens")
    pricing: Pricing


class ModelUsagePublic(_PricedUsage):
    model: str


class BotUsagePublic(_PricedUsage):
    bot_profile_id: uuid.UUID | None = Field(description="null for usage recorded without a bot")
    bot_name: str | None
    model: str


class CostEstimatePublic(PublicModel):
    days: int
    from_: str = Field(alias="from", serialization_alias="from", description="first UTC day of the window")
    to: str = Field(description="last UTC day of the window (today)")
    active_days: int = Field(description="days of the window with any usage")
    total_cost_usd: float = Field(description="the window's cost of priced models (unknown ones are left out)")
    daily_average_usd: float = Field(description="total over every day of the window, used or not")
    projected_monthly_usd: float = Field(description="the daily average times 30")
    by_model: list[ModelUsagePublic]
    by_bot: list[BotUsagePublic]
    unpriced_models: list[str] = Field(description="models whose tokens have no price in the map")


class ModelPricePublic(PublicModel):
    model: str
    pricing: Pricing
    prompt_cost_per_1m: float | None
    completion_cost_per_1m: float | None


class PricingPublic(PublicModel):
    source: str = Field(description="where the prices come from: the pinned LiteLLM's bundled cost map")
    models: list[ModelPricePublic]


class FeedbackPublic(PublicModel):
    answers: int = Field(description="assistant answers given in the window")
    rated: int
    positive: int
    negative: int
    unrated: int
    positive_rate: float | None = Field(description="positive / rated; null when none is rated")


class FeedbackDayPublic(PublicModel):
    date: str = Field(description="UTC day the answers were given, YYYY-MM-DD")
    answers: int
    positive: int
    negative: int
