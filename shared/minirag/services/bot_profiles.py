"""Bot profiles: model, prompt, retrieval and chunking settings, and the tenant's own provider key
(encrypted with Fernet; only `has_provider_key` and the last 4 characters ever leave the server)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Sequence

from minirag.db import quota_rows
from minirag.db.models import BotProfile, Source
from minirag.db.scope import PageResult, TenantScope
from minirag.documents.chunking import validate_chunking
from minirag.llm.model_policy import LOCAL_PREFIX, ModelNotAllowed, ModelPolicy
from minirag.security.fernet import encrypt_secret
from minirag.services.commands import CreateBotProfile, UpdateBotProfile
from minirag.services.quotas import tenant_quota
from minirag.services.sources import SourceService
from minirag.settings import Settings
from minirag.vectorstore.filters import parse_filter


class BotProfileService:
    def __init__(self, scope: TenantScope, settings: Settings, *, sources: SourceService) -> None:
        self._scope = scope
        self._settings = settings
        self._sources = sources

    def create(self, command: CreateBotProfile) -> BotProfile:
        data = asdict(command)
        key = data.pop("provider_api_key")
        data["model"] = command.model or self._settings.default_chat_model
        data["embedding_model"] = command.embedding_model or self._settings.embedding_model
        validate_chunking(command.chunk_tokens, command.chunk_overlap_tokens)
        parse_filter(command.default_filter, field="default_filter")
        bot = BotProfile(id=uuid.uuid4(), **data)
        self._set_key(bot, key)
        self._check_models(bot, model_field="model", embedding_field="embedding_model")
        self._check_rerank_model(bot, field="rerank_model")
        with self._scope.write():
            tenant_quota(self._scope, self._settings, lock=True).require_count_below(
                "bots", quota_rows.active_bots(self._scope))
            self._scope.add(bot)
        return bot

    def get(self, bot_id: uuid.UUID) -> BotProfile:
        """Active or deactivated: deactivation is visible (`is_active: false`) and reversible."""
        with self._scope.read():
            return self._scope.get(BotProfile, bot_id)

    def list(self, *, limit: int, cursor: str | None, include_inactive: bool = False) -> PageResult[BotProfile]:
        with self._scope.read():
            return self._scope.page(BotProfile, limit=limit, cursor=cursor, active_only=not include_inactive)

    def update(self, bot_id: uuid.UUID, command: UpdateBotProfile) -> BotProfile:
        changes = command.changes()
        if "default_filter" in changes:
            parse_filter(changes["default_filter"], field="default_filter")
        active = changes.pop("is_active", None)
        key_changed, model_changed = "provider_api_key" in changes, "model" in changes
        rerank_changed = "rerank_model" in changes
        purge: Sequence[Source] = ()
        with self._scope.write():
            bot = self._scope.get(BotProfile, bot_id)
            if active is True and not bot.is_active:
                tenant_quota(self._scope, self._settings, lock=True).require_count_below(
                    "bots", quota_rows.active_bots(self._scope))
                bot.is_active = True  # its sources stay deactivated: each is reactivated (and ingested) on its own
            elif active is False and bot.is_active:
                bot.is_active = False
                purge = self._sources.deactivate_for_bot(bot)
            if "provider_api_key" in changes:
                self._set_key(bot, changes.pop("provider_api_key"))
            for field, value in changes.items():
                setattr(bot, field, value)
            validate_chunking(bot.chunk_tokens, bot.chunk_overlap_tokens)
            # Adding or dropping the key moves the models between the tenant's and the platform's keys.
            if model_changed or key_changed:
                self._check_models(bot, model_field="model" if model_changed else "provider_api_key",
                                   embedding_field="provider_api_key" if key_changed else None)
            if rerank_changed or key_changed:
                self._check_rerank_model(bot, field="rerank_model" if rerank_changed else "provider_api_key")
        self._sources.publish_purge(purge)
        return bot

    def deactivate(self, bot_id: uuid.UUID) -> None:
        """Soft delete: the bot stops being served and its sources are deactivated with it; it stays
        readable as `is_active: false`. Deactivating an inactive bot again changes nothing."""
        with self._scope.write():
            bot = self._scope.get(BotProfile, bot_id)
            if not bot.is_active:
                return
            bot.is_active = False
            sources = self._sources.deactivate_for_bot(bot)
        self._sources.publish_purge(sources)

    def _check_models(self, bot: BotProfile, *, model_field: str, embedding_field: str | None) -> None:
        """The deployment's model policy (`ModelNotAllowed`, 422 naming the field); the gateway checks again."""
        policy = ModelPolicy.from_settings(self._settings)
        tenant_key = bot.provider_key_encrypted is not None
        policy.authorize(bot.model, tenant_key=tenant_key, field=model_field)
        if embedding_field is not None:
            policy.authorize(bot.embedding_model, tenant_key=tenant_key, field=embedding_field)

    def _check_rerank_model(self, bot: BotProfile, *, field: str) -> None:
        """A reranker passes the same policy as the chat model; no offline one exists."""
        if bot.rerank_model is None:
            return
        if bot.rerank_model.startswith(LOCAL_PREFIX):
            raise ModelNotAllowed(field, "no offline reranker ships with this deployment; name a LiteLLM rerank "
                                         "model such as cohere/rerank-v3.5, or null for none")
        ModelPolicy.from_settings(self._settings).authorize(
            bot.rerank_model, tenant_key=bot.provider_key_encrypted is not None, field=field)

    @staticmethod
    def _set_key(bot: BotProfile, key: str | None) -> None:
        if key is None:
            bot.provider_key_encrypted = None
            bot.provider_key_last4 = None
            return
        bot.provider_key_encrypted = encrypt_secret(key)
        bot.provider_key_last4 = key[-4:] if len(key) >= 8 else None
