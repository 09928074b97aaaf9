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
from minirag.errors import Unauthenticated
from minirag.observability import logger
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
        touch = api_token if system.touch_due(api_token, now) else None
        principal = Principal(api_token.tenant_id, user.id, user.role.value, api_token.id)
    else:
        claims = decode_access_token(token, secret=get_settings().require_jwt_secret())
        if claims is None:
            raise Unauthenticated()
        with system.read():
            user = system.find_active_user(claims.tenant_id, claims.user_id)
        if user is None:
            raise Unauthenticated()
        principal = Principal(user.tenant_id, user.id, user.role.value)
    logger.append_keys(tenant_id=str(principal.tenant_id))
    credential = f"k{principal.api_token_id}" if principal.api_token_id else f"u{principal.user_id}"
    with system.write():
        if touch is not None:
            system.touch_token(touch, now)
        response.headers.update(admit_request(system.tenant_scope(principal.tenant_id), get_settings(), credential))
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


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
