from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from minirag.api.deps import PageDep, ScopeDep, SettingsDep
from minirag.api.routers.sources import get_source_service
from minirag.api.schemas.bot_profiles import BotProfileCreate, BotProfilePublic, BotProfileUpdate
from minirag.api.schemas.common import Page
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
    command = CreateBotProfile(**_with_key_revealed(body, body.model_dump()))
    return BotProfilePublic.model_validate(service.create(command))


@router.get("", response_model=Page[BotProfilePublic])
def list_bot_profiles(service: BotProfileServiceDep, page: PageDep) -> Page[BotProfilePublic]:
    result = service.list(limit=page.limit, cursor=page.cursor)
    return Page[BotProfilePublic](data=[BotProfilePublic.model_validate(b) for b in result.items],
                                  next_cursor=result.next_cursor)


@router.get("/{id}", response_model=BotProfilePublic)
def get_bot_profile(id: uuid.UUID, service: BotProfileServiceDep) -> BotProfilePublic:
    return BotProfilePublic.model_validate(service.get(id))


@router.patch("/{id}", response_model=BotProfilePublic)
def update_bot_profile(id: uuid.UUID, body: BotProfileUpdate, service: BotProfileServiceDep) -> BotProfilePublic:
    command = UpdateBotProfile(**_with_key_revealed(body, body.model_dump(exclude_unset=True)))
    return BotProfilePublic.model_validate(service.update(id, command))


@router.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def deactivate_bot_profile(id: uuid.UUID, service: BotProfileServiceDep) -> Response:
    """Soft delete: the profile and its sources stop being served; their vectors are purged."""
    service.deactivate(id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
