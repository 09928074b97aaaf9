"""Which provider key a model call uses: the bot's own key (decrypted only for the call), else the
server's for embeddings; offline `local/` models need none. One place, so chat, retrieval and
ingestion cannot disagree."""

from __future__ import annotations

from typing import Protocol

from minirag.settings import Settings


class _HasKey(Protocol):
    @property
    def provider_key_encrypted(self) -> str | None: ...
    @property
    def embedding_model(self) -> str: ...


def chat_api_key(bot: _HasKey) -> str | None:
    if not bot.provider_key_encrypted:
        return None
    from minirag.security.fernet import decrypt_secret

    return decrypt_secret(bot.provider_key_encrypted)


def embedding_api_key(bot: _HasKey, settings: Settings) -> str | None:
    if bot.embedding_model.startswith("local/"):
        return None
    if bot.provider_key_encrypted:
        return chat_api_key(bot)
    key = settings.embedding_api_key
    return key.get_secret_value() if key else None
