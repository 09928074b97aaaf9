"""The one rule for a bot named in a request: missing and another tenant's look the same (404, or
the 422 a create answers), while the tenant's own deactivated bot says so (409 `bot_inactive`),
since the caller can see it and reactivate it."""

from __future__ import annotations

import uuid

from minirag.db.models import BotProfile
from minirag.db.scope import TenantScope
from minirag.errors import Conflict, InvalidInput, NotFound, field_details


def bot_inactive(field: str = "bot_profile_id") -> Conflict:
    return Conflict('the bot profile is deactivated; reactivate it with PATCH {"is_active": true}',
                    code="bot_inactive", details=field_details(field, "deactivated"))


def require_active_bot(scope: TenantScope, bot_id: uuid.UUID, *, field: str = "bot_profile_id",
                       missing_is_invalid: bool = False) -> BotProfile:
    """The caller's active bot. Missing or foreign: `NotFound` naming the field, or with
    `missing_is_invalid` a 422 (a create's body refers to something that is not there)."""
    bot = scope.find(BotProfile, bot_id)
    if bot is None:
        if missing_is_invalid:
            raise InvalidInput(field, "no such bot profile")
        raise NotFound("bot profile", field=field)
    if not bot.is_active:
        raise bot_inactive(field)
    return bot
