from __future__ import annotations

from minirag.api.schemas.common import PublicModel
from minirag.api.schemas.tenants import TenantPublic, UserPublic


class AuthMePublic(PublicModel):
    user: UserPublic
    tenant: TenantPublic
