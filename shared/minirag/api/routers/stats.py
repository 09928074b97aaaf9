"""StatsFunction: usage, cost and feedback analytics of the caller's tenant (`/v1/stats/*`).

Every window is UTC days: `from`/`to` (inclusive, YYYY-MM-DD) or `days` (the last N days ending
today, UTC); neither: the last 30 days. The sums are SQL; prices come from LiteLLM's cost map read as
JSON (`minirag.llm.pricing`), so this function never imports LiteLLM (a zip function on the layer)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from minirag.api.deps import ScopeDep, SettingsDep
from minirag.api.schemas.stats import (
    BotUsagePublic,
    CostEstimatePublic,
    FeedbackDayPublic,
    FeedbackPublic,
    ModelUsagePublic,
    OverviewPublic,
    PricingPublic,
    UsageDayPublic,
)
from minirag.llm.pricing import get_pricing
from minirag.services.commands import StatsWindow
from minirag.services.stats import MAX_DAYS, StatsService

router = APIRouter(tags=["stats"])


def get_stats_service(scope: ScopeDep, settings: SettingsDep) -> StatsService:
    return StatsService(scope, get_pricing(), default_models=(settings.default_chat_model, settings.embedding_model))


StatsServiceDep = Annotated[StatsService, Depends(get_stats_service)]


class WindowParams:
    def __init__(
        self,
        start: Annotated[date | None, Query(alias="from", description="first UTC day, YYYY-MM-DD")] = None,
        end: Annotated[date | None, Query(alias="to", description="last UTC day (inclusive), YYYY-MM-DD")] = None,
        days: Annotated[int | None, Query(ge=1, le=MAX_DAYS, description="the last N UTC days, ending today")] = None,
        bot_profile_id: Annotated[uuid.UUID | None, Query(description="only this bot's usage")] = None,
    ) -> None:
        self.command = StatsWindow(start=start, end=end, days=days, bot_profile_id=bot_profile_id)


WindowDep = Annotated[WindowParams, Depends()]


@router.get("/v1/stats/overview", response_model=OverviewPublic)
def overview(service: StatsServiceDep) -> Any:
    """All-time counts of the tenant's active bots and sources, chats and messages, and its tokens."""
    return service.overview()


@router.get("/v1/stats/usage", response_model=list[UsageDayPublic])
def usage(service: StatsServiceDep, window: WindowDep) -> Any:
    """Tokens and model calls per UTC day, every day of the window (zeros included), oldest first."""
    return service.usage_by_day(window.command)


@router.get("/v1/stats/usage/by-model", response_model=list[ModelUsagePublic])
def usage_by_model(service: StatsServiceDep, window: WindowDep) -> Any:
    """Tokens and cost per model in the window, most tokens first."""
    return service.usage_by_model(window.command)


@router.get("/v1/stats/usage/by-bot", response_model=list[BotUsagePublic])
def usage_by_bot(service: StatsServiceDep, window: WindowDep) -> Any:
    """Tokens and cost per bot and model it used in the window, most tokens first."""
    return service.usage_by_bot(window.command)


@router.get("/v1/stats/cost-estimate", response_model=CostEstimatePublic, response_model_by_alias=True)
def cost_estimate(
    service: StatsServiceDep,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="the window: the last N UTC days")] = 30,
    bot_profile_id: Annotated[uuid.UUID | None, Query(description="only this bot's usage")] = None,
) -> Any:
    """The last `days` days' cost, its daily average and the month (30 days) it projects to, by
    model and by bot."""
    return service.cost_estimate(StatsWindow(days=days, bot_profile_id=bot_profile_id))


@router.get("/v1/stats/pricing", response_model=PricingPublic)
def pricing(
    service: StatsServiceDep,
    model: Annotated[str | None, Query(min_length=1, max_length=200, description="look up this model only")] = None,
) -> Any:
    """USD per million prompt and completion tokens of the models the tenant uses (its bots' and its
    usage's) and the platform defaults, or of one `model`; unknown models say so."""
    return service.pricing(model)


@router.get("/v1/stats/feedback", response_model=FeedbackPublic)
def feedback(service: StatsServiceDep, window: WindowDep) -> Any:
    """Answers given in the window and how users rated them."""
    return service.feedback(window.command)


@router.get("/v1/stats/feedback/trend", response_model=list[FeedbackDayPublic])
def feedback_trend(service: StatsServiceDep, window: WindowDep) -> Any:
    """Answers and their ratings per UTC day the answer was given, oldest first."""
    return service.feedback_trend(window.command)
