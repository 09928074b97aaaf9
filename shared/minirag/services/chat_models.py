"""What the OpenAI-compatible endpoint offers as models: the tenant's active bots (a key bound to
one bot sees that bot only). Reads only; no model gateway, so listing them stays cheap."""

from __future__ import annotations

import uuid

from minirag.db.models import BotProfile
from minirag.db.scope import TenantScope

MAX_MODELS = 1000  # one page: OpenAI's list has no pagination


class ChatModels:
    def __init__(self, scope: TenantScope) -> None:
        self._scope = scope

    def list(self, *, only: uuid.UUID | None = None) -> list[BotProfile]:
        """Active bots, oldest first; `only`: just that one (if it is active)."""
        with self._scope.read():
            if only is not None:
                return self._scope.page(BotProfile, limit=1, cursor=None, active_only=True, id=only).items
            return self._scope.page(BotProfile, limit=MAX_MODELS, cursor=None, newest_first=False,
                                    active_only=True).items
