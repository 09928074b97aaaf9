"""Bot profiles: model, prompt, retrieval and chunking settings, and the tenant's own provider key
(encrypted with Fernet; only `has_provider_key` and the last 4 characters ever leave the server)."""

from __future__ import annotations

import uuid
from typing import Any

from minirag.db.models import BotProfile
from minirag.db.scope import PageResult, TenantScope
from minirag.documents.chunking import validate_chunking
from minirag.errors import InvalidInput
from minirag.services.sources import SourceService
from minirag.security.fernet import encrypt_secret
from minirag.settings import Settings


class BotProfileService:
    def __init__(self, scope: TenantScope, settings: Settings, *, sources: SourceService) -> None:
        self._scope = scope
        self._settings = settings
        self._sources = sources

    def create(self, data: dict[str, Any]) -> BotProfile:
        data = dict(data)
        key = data.pop("provider_api_key", None)
        data["model"] = data.get("model") or self._settings.default_chat_model
        data["embedding_model"] = data.get("embedding_model") or self._settings.embedding_model
        validate_chunking(data["chunk_tokens"], data["chunk_overlap_tokens"])
        bot = BotProfile(id=uuid.uuid4(), **data)
        self._set_key(bot, key)
        self._scope.add(bot)
        self._scope.commit()
        return bot

    def get(self, bot_id: uuid.UUID) -> BotProfile:
        return self._scope.get(BotProfile, bot_id, active_only=True)

    def list(self, *, limit: int, cursor: str | None) -> PageResult[BotProfile]:
        stmt = self._scope.select(BotProfile).where(BotProfile.is_active.is_(True))
        return self._scope.page(stmt, BotProfile, limit=limit, cursor=cursor)

    def update(self, bot_id: uuid.UUID, changes: dict[str, Any]) -> BotProfile:
        bot = self.get(bot_id)
        changes = dict(changes)
        if "provider_api_key" in changes:
            self._set_key(bot, changes.pop("provider_api_key"))
        for field in ("name", "system_prompt", "model", "temperature", "max_tokens", "chunk_tokens",
                      "chunk_overlap_tokens", "top_k", "min_score", "no_answer_text", "history_turns"):
            if field in changes and changes[field] is None:
                raise InvalidInput(field, "may not be null")
        for field, value in changes.items():
            setattr(bot, field, value)
        validate_chunking(bot.chunk_tokens, bot.chunk_overlap_tokens)
        self._scope.commit()
        return bot

    def deactivate(self, bot_id: uuid.UUID) -> None:
        """Soft delete: the profile disappears from the API; its sources are deactivated with it."""
        bot = self.get(bot_id)
        bot.is_active = False
        sources = self._sources.deactivate_for_bot(bot)
        self._scope.commit()
        self._sources.publish_purge(sources)

    @staticmethod
    def _set_key(bot: BotProfile, key: Any) -> None:
        if key is None:
            bot.provider_key_encrypted = None
            bot.provider_key_last4 = None
            return
        raw = key.get_secret_value() if hasattr(key, "get_secret_value") else str(key)
        bot.provider_key_encrypted = encrypt_secret(raw)
        bot.provider_key_last4 = raw[-4:] if len(raw) >= 8 else None
