"""Deployed functions read their secrets from Secrets Manager (APP_SECRETS_ARN), once per container."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from moto import mock_aws

from minirag import app_secrets
from minirag.settings import get_settings

SECRET = {
    "JWT_SECRET": "jwt-from-secrets-manager-0123456789abcdef",
    "FERNET_KEYS": "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0=,b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0=",
    "DATABASE_URL": "postgresql://app:pw@db.internal:5432/minirag",
    "OPENAI_API_KEY": "sk-test-provider-key",
}


@pytest.fixture
def secret_arn(monkeypatch: pytest.MonkeyPatch):
    # Blank (not delete) so monkeypatch restores the test environment afterwards.
    for name in SECRET:
        monkeypatch.setenv(name, "")
    app_secrets.fetch_app_secrets.cache_clear()
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(Name="minirag/test/app",
                                                           SecretString=json.dumps(SECRET))["ARN"]
        yield arn
    app_secrets.fetch_app_secrets.cache_clear()
    get_settings.cache_clear()


def test_settings_read_secrets_from_secrets_manager_when_arn_set(secret_arn, monkeypatch):
    # Given a deployed function's environment: the secret's ARN, no secret values
    monkeypatch.setenv("APP_SECRETS_ARN", secret_arn)
    monkeypatch.setenv("ENVIRONMENT", "prod")
    get_settings.cache_clear()

    # When the settings are built
    settings = get_settings()

    # Then the secrets come from Secrets Manager, provider keys are exported for LiteLLM
    assert settings.require_jwt_secret() == SECRET["JWT_SECRET"]
    assert len(settings.require_fernet_keys()) == 2
    assert settings.database_url == "postgresql+psycopg://app:pw@db.internal:5432/minirag"
    assert os.environ["OPENAI_API_KEY"] == SECRET["OPENAI_API_KEY"]


def test_secret_is_fetched_once_per_container(secret_arn, monkeypatch):
    # Given the ARN set and the secret read once
    monkeypatch.setenv("APP_SECRETS_ARN", secret_arn)
    app_secrets.apply_app_secrets()

    # When the secret changes and the settings are rebuilt
    boto3.client("secretsmanager").put_secret_value(SecretId=secret_arn,
                                                    SecretString=json.dumps({**SECRET, "JWT_SECRET": "rotated"}))
    get_settings.cache_clear()

    # Then the container keeps the value it started with (no second call)
    assert get_settings().require_jwt_secret() == SECRET["JWT_SECRET"]
    assert app_secrets.fetch_app_secrets.cache_info().misses == 1


def test_environment_wins_over_secret(secret_arn, monkeypatch):
    # Given a value set explicitly in the environment
    monkeypatch.setenv("APP_SECRETS_ARN", secret_arn)
    monkeypatch.setenv("JWT_SECRET", "explicit-environment-value-0123456789")

    # When the secrets are applied
    exported = app_secrets.apply_app_secrets()

    # Then the explicit value stays
    assert "JWT_SECRET" not in exported
    get_settings.cache_clear()
    assert get_settings().require_jwt_secret() == "explicit-environment-value-0123456789"


def test_no_arn_fetches_nothing(monkeypatch):
    # Given no APP_SECRETS_ARN (local runner, tests)
    monkeypatch.delenv("APP_SECRETS_ARN", raising=False)
    app_secrets.fetch_app_secrets.cache_clear()

    # When / Then nothing is fetched
    assert app_secrets.apply_app_secrets() == []
    assert app_secrets.fetch_app_secrets.cache_info().misses == 0


def test_secret_that_is_not_a_json_object_fails_without_echoing_it(monkeypatch):
    # Given a secret holding a bare string
    app_secrets.fetch_app_secrets.cache_clear()
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(Name="minirag/test/bad",
                                                           SecretString="hunter2")["ARN"]
        monkeypatch.setenv("APP_SECRETS_ARN", arn)

        # When / Then a clear error that does not contain the value
        with pytest.raises(app_secrets.SecretsUnavailable) as caught:
            app_secrets.apply_app_secrets()
    assert "hunter2" not in str(caught.value)
    app_secrets.fetch_app_secrets.cache_clear()
