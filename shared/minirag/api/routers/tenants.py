from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from minirag.api.deps import PrincipalDep, SessionDep, SettingsDep
from minirag.api.schemas.api_tokens import ApiTokenPublic
from minirag.api.schemas.tenants import (
    TenantBootstrap,
    TenantBootstrapPublic,
    TenantMePublic,
    TenantPublic,
    UserPublic,
)
from minirag.db.system import SystemRepository
from minirag.services.commands import BootstrapTenant
from minirag.services.tenants import TenantService

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])


def get_tenant_service(session: SessionDep, settings: SettingsDep) -> TenantService:
    return TenantService(SystemRepository(session), settings)


TenantServiceDep = Annotated[TenantService, Depends(get_tenant_service)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TenantBootstrapPublic)
def create_tenant(body: TenantBootstrap, service: TenantServiceDep) -> TenantBootstrapPublic:
    """Bootstrap a tenant with its owner and a first API token (`api_token`, also
    as `raw_token`: shown once). Allowed
    as SIGNUP says: open, invite (`invite_code` from `minirag invite`) or closed (403)."""
    result = service.bootstrap(BootstrapTenant(
        tenant_name=body.tenant_name, tenant_slug=body.tenant_slug, owner_email=body.owner_email,
        owner_password=body.owner_password.get_secret_value(), owner_display_name=body.owner_display_name,
        invite_code=body.invite_code.get_secret_value() if body.invite_code else None,
    ))
    return TenantBootstrapPublic(
        tenant=TenantPublic.model_validate(result.tenant),
        owner=UserPublic.model_validate(result.owner),
        api_token=result.raw_token,
        raw_token=result.raw_token,
        token=ApiTokenPublic.model_validate(result.api_token),
    )


@router.get("/me", response_model=TenantMePublic)
def get_current_tenant(principal: PrincipalDep, service: TenantServiceDep) -> TenantMePublic:
    """The caller's tenant and user, the tenant's limits and its usage of them."""
    me = service.me(principal.tenant_id, principal.user_id)
    return TenantMePublic(tenant=TenantPublic.model_validate(me.tenant), user=UserPublic.model_validate(me.user),
                          limits=me.limits, usage=me.usage)
