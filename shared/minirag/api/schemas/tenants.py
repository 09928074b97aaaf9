from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr

from minirag.api.schemas.api_tokens import ApiTokenPublic
from minirag.api.schemas.common import PublicModel, StrictModel

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def _check_email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    return value


Email = Annotated[str, Field(max_length=320), AfterValidator(_check_email)]
Password = Annotated[SecretStr, Field(min_length=10, max_length=256)]
Slug = Annotated[
    str,
    Field(min_length=3, max_length=63, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])$",
          description="lowercase letters, digits and hyphens; 3-63 chars"),
]


class TenantBootstrap(StrictModel):
    tenant_name: Annotated[str, Field(min_length=1, max_length=200)]
    tenant_slug: Slug
    owner_email: Email
    owner_password: Password
    invite_code: Annotated[SecretStr | None, Field(max_length=128, description="required when SIGNUP=invite")] = None


class TenantPublic(PublicModel):
    id: uuid.UUID
    name: str
    slug: str
    created_at: datetime


class UserPublic(PublicModel):
    id: uuid.UUID
    email: str
    role: str
    created_at: datetime
    display_name: str | None = None
    is_active: bool = True
    updated_at: datetime | None = None


class TenantBootstrapPublic(PublicModel):
    tenant: TenantPublic
    owner: UserPublic
    api_token: ApiTokenPublic
    raw_token: str = Field(description="Shown once; store it now. Send as 'Authorization: Bearer <raw_token>'.")


class TenantMePublic(PublicModel):
    tenant: TenantPublic
    user: UserPublic
    limits: dict[str, int] = Field(description="this tenant's limits (the operator may set them per tenant)")
    usage: dict[str, int] = Field(description="what the tenant uses of each limit now (today, for daily ones); "
                                              "requests per minute are in each response's RateLimit headers")


class LoginRequest(StrictModel):
    email: Email
    password: Annotated[SecretStr, Field(min_length=1, max_length=256)]
    tenant_slug: Annotated[Slug | None, Field(description="which tenant's account, when one email and password "
                                                          "open several")] = None


class AccessTokenPublic(PublicModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    expires_in: int
