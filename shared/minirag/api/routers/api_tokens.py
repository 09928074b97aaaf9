from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from minirag.api.deps import PageDep, PrincipalDep, ScopeDep, SettingsDep
from minirag.api.schemas.api_tokens import ApiTokenCreate, ApiTokenCreated, ApiTokenPublic
from minirag.api.schemas.common import Page
from minirag.services.api_tokens import ApiTokenService
from minirag.services.commands import Caller, CreateApiToken

router = APIRouter(prefix="/v1/api-tokens", tags=["api-tokens"])


def get_api_token_service(scope: ScopeDep, principal: PrincipalDep, settings: SettingsDep) -> ApiTokenService:
    return ApiTokenService(scope, settings, user_id=principal.user_id,
                           caller=Caller(principal.user_id, principal.role, principal.permissions, principal.scopes))


ApiTokenServiceDep = Annotated[ApiTokenService, Depends(get_api_token_service)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiTokenCreated)
def create_api_token(body: ApiTokenCreate, service: ApiTokenServiceDep) -> ApiTokenCreated:
    """A token of the caller's user. `scopes` narrow it; `bot_profile_id` makes it a publishable chat
    key (chat and retrieve with that bot only), `allowed_origins` the pages that may use it."""
    token, raw = service.create(CreateApiToken(
        name=body.name, expires_in_days=body.expires_in_days,
        scopes=tuple(body.scopes) if body.scopes is not None else None, bot_profile_id=body.bot_profile_id,
        allowed_origins=tuple(body.allowed_origins) if body.allowed_origins is not None else None))
    return ApiTokenCreated.model_validate({**ApiTokenPublic.model_validate(token).model_dump(), "raw_token": raw})


@router.get("", response_model=Page[ApiTokenPublic])
def list_api_tokens(service: ApiTokenServiceDep, page: PageDep) -> Page[ApiTokenPublic]:
    result = service.list(limit=page.limit, cursor=page.cursor)
    return Page[ApiTokenPublic](data=[ApiTokenPublic.model_validate(t) for t in result.items],
                                next_cursor=result.next_cursor)


@router.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def revoke_api_token(id: uuid.UUID, service: ApiTokenServiceDep) -> Response:
    """Revoke a token; requests with it get 401 at once."""
    service.revoke(id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
