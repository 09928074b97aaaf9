"""`minirag rotate-keys`: every stored provider key, in every tenant, re-encrypted under the first
FERNET_KEYS key, so the old key can be dropped."""

from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from minirag.cli import main
from minirag.db.engine import get_engine
from minirag.security import fernet
from minirag.settings import get_settings

KEYS = {"tenant-a": "sk-tenant-a-PROVIDERKEY-0123456789", "tenant-b": "sk-tenant-b-PROVIDERKEY-9876543210"}


def _use_keys(monkeypatch: pytest.MonkeyPatch, *keys: str) -> None:
    monkeypatch.setenv("FERNET_KEYS", ",".join(keys))
    get_settings.cache_clear()
    fernet.reset_cache()


def _stored() -> dict[uuid.UUID, str | None]:
    with get_engine().connect() as conn:
        rows = conn.execute(text("SELECT id, provider_key_encrypted FROM bot_profile"))
        return {uuid.UUID(str(row[0])): row[1] for row in rows}


def test_rotate_keys_reencrypts_every_tenants_keys_under_the_new_key(api, tenant_a, tenant_b, monkeypatch, capsys):
    # Given provider keys of two tenants encrypted under the old key, and a bot without a key
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    _use_keys(monkeypatch, old)
    bots = {}
    for tenant in (tenant_a, tenant_b):
        created = api.post("/v1/bot-profiles", {"name": "Support", "provider_api_key": KEYS[tenant.slug]},
                           token=tenant.token)
        assert created.status == 201, created.body
        bots[tenant.slug] = uuid.UUID(created.json["id"])
    keyless = uuid.UUID(api.post("/v1/bot-profiles", {"name": "Keyless"}, token=tenant_a.token).json["id"])
    before = _stored()

    # When FERNET_KEYS becomes "new,old" and the command runs
    _use_keys(monkeypatch, new, old)
    assert main(["rotate-keys"]) == 0

    # Then it says how many it re-encrypted, and with only the new key every stored key decrypts
    assert "re-encrypted 2 provider keys" in capsys.readouterr().out
    _use_keys(monkeypatch, new)
    after = _stored()
    assert after[keyless] is None
    for slug, bot_id in bots.items():
        assert after[bot_id] != before[bot_id]
        assert Fernet(new.encode()).decrypt(after[bot_id].encode()).decode() == KEYS[slug]
        assert fernet.decrypt_secret(after[bot_id]) == KEYS[slug]

    # And the API still reports the keys (write-only) as present
    for tenant in (tenant_a, tenant_b):
        bot = api.get(f"/v1/bot-profiles/{bots[tenant.slug]}", token=tenant.token).json
        assert bot["has_provider_key"] is True
        assert bot["provider_key_last4"] == KEYS[tenant.slug][-4:]


def test_rotate_keys_changes_nothing_when_a_key_cannot_be_decrypted(api, tenant_a, monkeypatch, capsys):
    # Given one key under a key that is no longer configured, and one under the current key
    lost, current = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    _use_keys(monkeypatch, lost)
    api.post("/v1/bot-profiles", {"name": "Orphan", "provider_api_key": "sk-orphan-0123456789"}, token=tenant_a.token)
    _use_keys(monkeypatch, current)
    api.post("/v1/bot-profiles", {"name": "Fine", "provider_api_key": "sk-fine-0123456789"}, token=tenant_a.token)
    before = _stored()

    # When the command runs with only the current key
    # Then it fails naming the bot, and no stored key changed
    assert main(["rotate-keys"]) == 1
    assert "decrypts with none of FERNET_KEYS" in capsys.readouterr().err
    assert _stored() == before


def test_rotate_keys_reencrypts_webhook_secrets_too(api, tenant_a, tenant_b, monkeypatch, capsys):
    # Given a webhook of each tenant, its secret encrypted under the old key
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    _use_keys(monkeypatch, old)
    secrets = {}
    for tenant in (tenant_a, tenant_b):
        created = api.post("/v1/webhooks", {"url": "https://93.184.215.14/hook", "events": ["chat.message"]},
                           token=tenant.token)
        assert created.status == 201, created.body
        secrets[uuid.UUID(created.json["id"])] = created.json["secret"]

    # When FERNET_KEYS becomes "new,old" and the command runs
    _use_keys(monkeypatch, new, old)
    assert main(["rotate-keys"]) == 0
    assert "2 webhook secrets" in capsys.readouterr().out

    # Then with only the new key every secret decrypts to what was shown at creation
    _use_keys(monkeypatch, new)
    with get_engine().connect() as conn:
        stored = {uuid.UUID(str(r[0])): r[1] for r in conn.execute(text("SELECT id, secret_encrypted FROM webhook"))}
    assert {hook_id: fernet.decrypt_secret(value) for hook_id, value in stored.items()} == secrets
