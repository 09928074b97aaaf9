from __future__ import annotations

from fastapi import APIRouter

from minirag.api.deps import ClientAddressDep, PrincipalDep
from minirag.api.routers.tenants import TenantServiceDep
from minirag.api.schemas.auth import AuthMePublic
from minirag.api.schemas.tenants import AccessTokenPublic, LoginRequest, TenantPublic, UserPublic
from minirag.services.commands import Login

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/login", response_model=AccessTokenPublic)
def login(body: LoginRequest, service: TenantServiceDep, address: ClientAddressDep) -> AccessTokenPublic:
    """Email + password → a JWT: the same login, answers and throttle as `POST /v1/auth/token`
    (failed attempts on either route count together)."""
    return create_access_token(body, service, address)


@router.get("/me", response_model=AuthMePublic)
def get_current_user(principal: PrincipalDep, service: TenantServiceDep) -> AuthMePublic:
    """Who the credential is: the caller's user and tenant (never anyone else's)."""
    me = service.me(principal.tenant_id, principal.user_id)
    return AuthMePublic(user=UserPublic.model_validate(me.user), tenant=TenantPublic.model_validate(me.tenant))


@router.post("/token", response_model=AccessTokenPublic)
def create_access_token(body: LoginRequest, service: TenantServiceDep, address: ClientAddressDep) -> AccessTokenPublic:
    """Email + password → a short-lived JWT, accepted as `Authorization: Bearer` like an API token.
    Failed attempts are throttled per account and per client address (429 `login_throttled`)."""
    token = service.login(Login(email=body.email, password=body.password.get_secret_value(),
                                client_address=address, tenant_slug=body.tenant_slug))
    return AccessTokenPublic(access_token=token.access_token, expires_at=token.expires_at, expires_in=token.expires_in)
