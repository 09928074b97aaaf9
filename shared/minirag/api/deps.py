"""FastAPI dependencies every function shares: the settings, a session per request, the authenticated
`Principal`, the `TenantScope` built from it, and page parameters. The tenant comes only from the
verified credential. Each router declares its own service dependency, so a function imports only the
services its routes use (a CRUD function never loads chat or retrieval code)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Iterator

from fastapi import Depends, Query, Request, Response

from minirag.db.engine import Session, get_session_factory
from minirag.db.models import ApiToken
from minirag.db.scope import TenantScope
from minirag.db.system import SystemRepository
from minirag.errors import Forbidden, NotFound, Unauthenticated, field_details
from minirag.observability import logger
from minirag.security import permissions
from minirag.security.api_tokens import hash_token, looks_like_api_token
from minirag.security.jwt import decode_access_token
from minirag.services.quotas import admit_request
from minirag.settings import Settings, get_settings


@dataclass(frozen=True)
class Principal:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    role: str
    api_token_id: uuid.UUID | None = None
    # What the caller may do (role ∩ token scopes; minirag.security.permissions), the token's scopes
    # (None: the whole role) and the one bot a publishable key is bound to.
    permissions: frozenset[str] = frozenset()
    scopes: tuple[str, ...] | None = None
    bot_profile_id: uuid.UUID | None = None

    def require_bot(self, bot_profile_id: uuid.UUID) -> None:
        """A key bound to one bot sees no other: the same 404 as a missing bot."""
        if self.bot_profile_id is not None and bot_profile_id != self.bot_profile_id:
            raise NotFound("bot profile", field="bot_profile_id")


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session() -> Iterator[Session]:
    session = get_session_factory()()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def get_client_address(request: Request) -> str:
    """The caller's address as API Gateway saw it (requestContext.http.sourceIp; the local runner
    fills it in), never a client-sent header such as X-Forwarded-For."""
    event = request.scope.get("aws.event") or {}
    address = ((event.get("requestContext") or {}).get("http") or {}).get("sourceIp")
    if not address and request.client is not None:
        address = request.client.host
    return str(address or "unknown")


ClientAddressDep = Annotated[str, Depends(get_client_address)]


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
    return token.strip()


def get_principal(request: Request, response: Response, session: SessionDep) -> Principal:
    """The verified credential, counted against its requests per minute (one small write, which also
    records a token's use when due). The RateLimit headers go on the response; past the limit, 429."""
    token = _bearer_token(request)
    system = SystemRepository(session)
    now = system.now()
    touch: ApiToken | None = None
    if looks_like_api_token(token):
        with system.read():
            found = system.find_active_token(hash_token(token), now)
        if found is None:
            raise Unauthenticated()
        api_token, user = found
        _check_origin(request, api_token.allowed_origins)
        touch = api_token if system.touch_due(api_token, now) else None
        scopes = tuple(api_token.scopes) if api_token.scopes is not None else None
        principal = Principal(api_token.tenant_id, user.id, user.role.value, api_token.id,
                              permissions=permissions.effective_permissions(
                                  user.role.value, scopes, bound_to_bot=api_token.bot_profile_id is not None),
                              scopes=scopes, bot_profile_id=api_token.bot_profile_id)
    else:
        claims = decode_access_token(token, secret=get_settings().require_jwt_secret())
        if claims is None:
            raise Unauthenticated()
        with system.read():
            user = system.find_active_user(claims.tenant_id, claims.user_id)
        if user is None:
            raise Unauthenticated()
        principal = Principal(user.tenant_id, user.id, user.role.value,
                              permissions=permissions.role_permissions(user.role.value))
    logger.append_keys(tenant_id=str(principal.tenant_id))
    authorize(request, principal)
    credential = f"k{principal.api_token_id}" if principal.api_token_id else f"u{principal.user_id}"
    with system.write():
        if touch is not None:
            system.touch_token(touch, now)
        response.headers.update(admit_request(system.tenant_scope(principal.tenant_id), get_settings(), credential))
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def authorize(request: Request, principal: Principal) -> None:
    """The one permission check: the matched route's entry in `permissions.ROUTE_PERMISSIONS`,
    before any lookup (so a 403 reveals nothing about ids). A route without an entry is refused."""
    route = request.scope.get("route")
    needed = permissions.required_permission(request.method, getattr(route, "path_format", ""))
    if needed == permissions.PUBLIC:
        return
    if needed is None:
        raise Forbidden("this route declares no permission, so no one may call it", details=field_details(
            "permission", "undeclared route"))
    if needed in principal.permissions:
        return
    holders = " or ".join(permissions.roles_with(needed)) or "no role"
    if needed not in permissions.role_permissions(principal.role):
        message = f"your role ({principal.role}) does not allow {needed}"
    elif principal.bot_profile_id is not None:
        message = f"a key bound to one bot may only chat and retrieve with it, not {needed}"
    else:
        message = f"this token's scopes ({', '.join(principal.scopes or ())}) do not allow {needed}"
    raise Forbidden(message, details=field_details("permission", f"requires {needed} ({holders})"))


def _check_origin(request: Request, allowed: list[str] | None) -> None:
    """A key with allowed_origins refuses a browser request from any other page. A request without
    an Origin header is not a cross-site browser call (browsers send Origin on those) and passes:
    the guard keeps other web pages from using a published key, it cannot stop curl."""
    origin = request.headers.get("origin")
    if allowed and origin is not None and origin.strip().lower().rstrip("/") not in allowed:
        raise Forbidden("this key may not be used from this origin", code="origin_not_allowed",
                        details=field_details("origin", "not in the key's allowed_origins"))
    if allowed and origin is not None:
        request.state.cors_origin = origin  # minirag.api.cors answers this origin, and only it


def get_scope(session: SessionDep, principal: PrincipalDep) -> TenantScope:
    return TenantScope(session, principal.tenant_id)


ScopeDep = Annotated[TenantScope, Depends(get_scope)]


class PageParams:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=100, description="Items per page")] = 20,
        cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
    ) -> None:
        self.limit = limit
        self.cursor = cursor


PageDep = Annotated[PageParams, Depends()]


IncludeInactive = Annotated[bool, Query(description="also list deactivated items (`is_active: false`)")]
