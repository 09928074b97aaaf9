from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from minirag.api.deps import IncludeInactive, PageDep, ScopeDep, SettingsDep
from minirag.api.paging import PAGED_RESPONSES, paged_response
from minirag.api.routers.sources import get_source_service
from minirag.api.schemas.bot_profiles import BotProfileCreate, BotProfilePublic, BotProfileUpdate
from minirag.services.bot_profiles import BotProfileService
from minirag.services.commands import CreateBotProfile, UpdateBotProfile

router = APIRouter(prefix="/v1/bot-profiles", tags=["bot-profiles"])


def _with_key_revealed(body: BotProfileCreate | BotProfileUpdate, fields: dict) -> dict:
    """The provider key leaves its SecretStr here, once, on its way to be encrypted."""
    if "provider_api_key" in fields:
        key = body.provider_api_key
        fields["provider_api_key"] = None if key is None else key.get_secret_value()
    return fields


def get_bot_profile_service(scope: ScopeDep, settings: SettingsDep) -> BotProfileService:
    """Deactivating a bot deactivates its sources, so the service works through the source service."""
    return BotProfileService(scope, settings, sources=get_source_service(scope, settings))


BotProfileServiceDep = Annotated[BotProfileService, Depends(get_bot_profile_service)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BotProfilePublic)
def create_bot_profile(body: BotProfileCreate, service: BotProfileServiceDep) -> BotProfilePublic:
    command = CreateBotProfile(**_with_key_revealed(body, body.model_dump(exclude={"credentials"})))
    return BotProfilePublic.model_validate(service.create(command))


@router.get("", response_model=list[BotProfilePublic], responses=PAGED_RESPONSES)
def list_bot_profiles(request: Request, response: Response, service: BotProfileServiceDep, page: PageDep,
                      include_inactive: IncludeInactive = False) -> list[BotProfilePublic]:
    """The tenant's bots, newest first; deactivated ones only with `include_inactive=true`."""
    result = service.list(limit=page.limit, cursor=page.cursor, include_inactive=include_inactive)
    return paged_response(request, response, [BotProfilePublic.model_validate(b) for b in result.items],
                          result.next_cursor)


@router.get("/{id}", response_model=BotProfilePublic)
def get_bot_profile(id: uuid.UUID, service: BotProfileServiceDep) -> BotProfilePublic:
    """The bot, deactivated or not (`is_active`)."""
    return BotProfilePublic.model_validate(service.get(id))


@router.patch("/{id}", response_model=BotProfilePublic)
def update_bot_profile(id: uuid.UUID, body: BotProfileUpdate, service: BotProfileServiceDep) -> BotProfilePublic:
    command = UpdateBotProfile(**_with_key_revealed(body, body.model_dump(exclude_unset=True,
                                                                          exclude={"credentials"})))
    return BotProfilePublic.model_validate(service.update(id, command))


@router.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def deactivate_bot_profile(id: uuid.UUID, service: BotProfileServiceDep) -> Response:
    """Soft delete: the profile and its sources stop being served; their vectors are purged. The bot
    stays readable (`is_active: false`) and `PATCH {"is_active": true}` reactivates it."""
    service.deactivate(id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
