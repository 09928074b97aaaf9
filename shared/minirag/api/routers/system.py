"""Health routes. `/health` is liveness for load balancers and uptime checks: no credential, no
database, no tool. `/v1/system/health` probes every part (authenticated, so anonymous callers learn
nothing of the platform's insides); a failing part is a 503 with the same body, never a 500."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from minirag.api.deps import Principal, SessionDep, SettingsDep, get_principal
from minirag.api.schemas.system import (
    HealthDetailedPublic,
    HealthPublic,
    LivenessPublic,
    PartHealthPublic,
    TenantCountsPublic,
    TenantHealthPublic,
)
from minirag.db import engine
from minirag.db.scope import TenantScope
from minirag.errors import AppError
from minirag.queue.publisher import get_publisher
from minirag.services.health import HealthReport, HealthService, probe
from minirag.storage.uploads import get_storage
from minirag.vectorstore.indexes import QdrantIndexes, backend_version

router = APIRouter(tags=["system"])


def get_health_service(settings: SettingsDep) -> HealthService:
    """The probes, each built lazily inside its own check (a client that cannot even be built is
    that part's failure, not the request's)."""
    return HealthService({
        "database": engine.ping,
        "vector_store": lambda: QdrantIndexes.from_settings(settings).ping(),
        "queue": lambda: get_publisher().check(),
        "storage": lambda: get_storage().check(),
    }, backend_version(settings.vector_backend))


HealthServiceDep = Annotated[HealthService, Depends(get_health_service)]


def get_health_caller(request: Request, response: Response, session: SessionDep) -> Principal | HealthReport:
    """The verified caller; when the credential cannot be checked because the database is down,
    that database failure as the report (a 503 naming it, instead of the generic 500)."""
    try:
        return get_principal(request, response, session)
    except AppError:
        raise
    except Exception:
        database = probe("database", engine.ping)
        if database.status == "ok":
            raise
        return HealthReport({"database": database})


HealthCallerDep = Annotated[Principal | HealthReport, Depends(get_health_caller)]

_RESPONSES: dict[int | str, dict] = {503: {"model": HealthPublic, "description": "a part is in error"}}


def _body(report: HealthReport) -> dict:
    return {"status": report.status,
            "checks": {n: PartHealthPublic.model_validate(p).model_dump() for n, p in report.checks.items()}}


def _answer(report: HealthReport, body: dict) -> JSONResponse:
    return JSONResponse(body, status_code=200 if report.ok else 503)


@router.get("/health", response_model=LivenessPublic)
def get_liveness() -> LivenessPublic:
    """Liveness: the function answers. Reads no settings, database or tool."""
    return LivenessPublic()


@router.get("/v1/system/health", response_model=HealthPublic, responses=_RESPONSES)
def get_system_health(caller: HealthCallerDep, service: HealthServiceDep) -> JSONResponse:
    """Database, vector store, queue and storage, each with its status and latency; "degraded" and
    503 when any is in error."""
    report = caller if isinstance(caller, HealthReport) else service.check()
    return _answer(report, HealthPublic.model_validate(_body(report)).model_dump(mode="json"))


@router.get("/v1/system/health/detailed", response_model=HealthDetailedPublic, responses=_RESPONSES)
def get_system_health_detailed(caller: HealthCallerDep, service: HealthServiceDep, session: SessionDep,
                               settings: SettingsDep) -> JSONResponse:
    """The health report, plus versions and the caller tenant's own counts (never another tenant's)."""
    if isinstance(caller, HealthReport):
        return _answer(caller, _body(caller))
    report = service.check()
    body = _body(report) | {"versions": service.versions()}
    if report.checks["database"].status == "ok":
        counts = service.tenant_counts(TenantScope(session, caller.tenant_id))
        body["tenant"] = TenantHealthPublic(id=counts.tenant_id, counts=TenantCountsPublic(
            bots=counts.bots, sources=counts.sources, chunks=counts.chunks)).model_dump(mode="json")
    return _answer(report, body)

