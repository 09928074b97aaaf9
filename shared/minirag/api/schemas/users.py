from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from minirag.api.schemas.common import PatchModel, StrictModel
from minirag.api.schemas.tenants import Email, Password

Role = Annotated[Literal["owner", "admin", "member"], Field(
    description="member: reads bots, sources and chats, chats and retrieves; admin: also manages bots, "
                "sources, tokens and webhooks; owner: also manages users, roles and the tenant")]
DisplayName = Annotated[str, Field(min_length=1, max_length=200)]


class UserCreate(StrictModel):
    email: Email
    password: Password
    display_name: DisplayName | None = None
    role: Role = "member"


class UserUpdate(PatchModel):
    """Leave a field out to keep it; `display_name: null` clears the name. Deactivate with
    `is_active: false` (or DELETE), reactivate with `is_active: true`."""

    nullable: ClassVar[frozenset[str]] = frozenset({"display_name"})

    display_name: DisplayName | None = None
    role: Role | None = None
    is_active: bool | None = None
