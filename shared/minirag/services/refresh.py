"""Scheduled refresh of URL sources (the RefreshFunction, a template Schedule; the local runner fires
it too): each run re-ingests the URL sources whose `refresh_schedule` (hourly, daily, weekly) is
due, at most REFRESH_MAX_PER_RUN, round-robin across tenants so one tenant's many sources cannot
starve the others. A refresh is an ordinary ingest marked as such: when the fetched bytes hash the
same as the version being served, the worker keeps that version (no extraction, no embedding) and
only records the refresh."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from minirag.db.base import utcnow
from minirag.db.scope import TenantScope
from minirag.db.sweep import Sweep
from minirag.errors import AppError
from minirag.observability import logger, metrics
from minirag.services.sources import SourceService
from minirag.settings import Settings

INTERVALS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}
SourceServiceFor = Callable[[TenantScope], SourceService]


@dataclass
class RefreshReport:
    queued: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # e.g. the tenant is at a limit: tried again next run


class RefreshService:
    def __init__(self, sweep: Sweep, settings: Settings, *, sources: SourceServiceFor) -> None:
        self._sweep = sweep
        self._settings = settings
        self._sources = sources

    def run(self, now: datetime | None = None) -> RefreshReport:
        report = RefreshReport()
        due = self._sweep.due_refreshes(now or utcnow(), INTERVALS, self._settings.refresh_max_per_run)
        for tenant_id, source_id in due:
            with self._sweep.tenant_scope(tenant_id) as scope:
                try:
                    self._sources(scope).request_ingest(source_id, refresh=True)
                except AppError as exc:
                    logger.warning("scheduled refresh refused", extra={"source_id": str(source_id),
                                                                        "reason": exc.message})
                    report.refused.append(str(source_id))
                    continue
            report.queued.append(str(source_id))
        metrics.add_metric(name="RefreshQueued", unit="Count", value=len(report.queued))
        return report
