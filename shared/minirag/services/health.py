"""Health of the platform's parts, for operators and monitors: each part (database, vector store,
queue, storage) is probed once with its cheapest call and timed. Probes are handed in (ports), so
this module imports no tool; a probe that raises marks its part "error" and the report "degraded"
(the API answers 503 then), and the exception is logged, never sent to the caller."""

from __future__ import annotations

import platform
import time
import uuid
from dataclasses import dataclass
from importlib.metadata import version
from typing import Callable, Literal, Mapping

from minirag import __version__
from minirag.db import quota_rows
from minirag.db.scope import TenantScope
from minirag.observability import logger

Probe = Callable[[], None]
PartStatus = Literal["ok", "error"]


@dataclass(frozen=True)
class PartHealth:
    status: PartStatus
    latency_ms: float
    error: str | None = None


@dataclass(frozen=True)
class HealthReport:
    checks: dict[str, PartHealth]

    @property
    def ok(self) -> bool:
        return all(part.status == "ok" for part in self.checks.values())

    @property
    def status(self) -> Literal["ok", "degraded"]:
        return "ok" if self.ok else "degraded"


@dataclass(frozen=True)
class TenantCounts:
    tenant_id: uuid.UUID
    bots: int
    sources: int
    chunks: int


def probe(name: str, check: Probe, clock: Callable[[], float] = time.perf_counter) -> PartHealth:
    """Run one probe and time it; any exception is that part's failure (a health check must answer)."""
    started = clock()
    try:
        check()
    except Exception:
        logger.warning("health check failed", extra={"part": name}, exc_info=True)
        return PartHealth("error", _ms(clock() - started), f"{name.replace('_', ' ')} unavailable")
    return PartHealth("ok", _ms(clock() - started))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


class HealthService:
    def __init__(self, probes: Mapping[str, Probe], backend_version: str) -> None:
        self._probes = probes
        self._backend_version = backend_version

    def check(self) -> HealthReport:
        """Every part, one after the other (each is one cheap call)."""
        return HealthReport({name: probe(name, check) for name, check in self._probes.items()})

    def versions(self) -> dict[str, str]:
        """Read from package metadata: nothing is imported to answer."""
        return {"minirag": __version__, "python": platform.python_version(),
                "sqlalchemy": version("sqlalchemy"), "qdrant_backend": self._backend_version}

    @staticmethod
    def tenant_counts(scope: TenantScope) -> TenantCounts:
        """The caller tenant's own live bots and sources and stored chunks (scoped counts)."""
        with scope.read():
            return TenantCounts(scope.tenant_id, quota_rows.active_bots(scope), quota_rows.active_sources(scope),
                                quota_rows.stored_chunks(scope))
