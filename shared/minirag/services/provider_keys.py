"""Which key a model call uses: the bot's own (decrypted only for the call), else none, which
means the platform's credentials serve it — only for the models the operator lists in
PLATFORM_MODELS (the gateway enforces it, and adds the platform's EMBEDDING_API_KEY itself, so
no service ever holds a platform key). Offline `local/` models need none. One place, so chat,
retrieval and ingestion cannot disagree; `on_platform_keys` is what quotas count as platform spend."""

from __future__ import annotations

from typing import Protocol


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


def embedding_api_key(bot: _HasKey) -> str | None:
    if bot.embedding_model.startswith("local/"):
        return None
    return chat_api_key(bot)


def on_platform_keys(api_key: str | None) -> bool:
    """A call without the tenant's own key is paid by the platform (its keys, or its CPU for `local/`)."""
    return api_key is None
