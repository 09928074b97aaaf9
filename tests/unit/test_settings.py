"""Settings: database URL normalisation, secrets required outside local/test, prod guards."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from minirag.settings import Settings, get_settings


@pytest.fixture
def no_secret_env(monkeypatch):
    """The environment without the secrets tests/conftest.py sets, and no .env file."""
    for var in ("JWT_SECRET", "FERNET_KEYS", "ENVIRONMENT", "DATABASE_URL", "URL_FETCH_ALLOW_PRIVATE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setitem(Settings.model_config, "env_file", None)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg://u:p@db:5432/app"),
        ("postgresql://u:p@db/app", "postgresql+psycopg://u:p@db/app"),
        ("postgresql+psycopg2://u@db/app", "postgresql+psycopg://u@db/app"),
        ("postgresql+psycopg://u@db/app", "postgresql+psycopg://u@db/app"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        ("", None),
    ],
)
def test_database_url_is_normalised_to_psycopg(given, expected):
    # Given a database URL in one of its usual spellings
    # When settings are built
    settings = Settings(database_url=given)

    # Then PostgreSQL URLs use the psycopg 3 driver and others are kept
    assert settings.database_url == expected


def test_database_url_from_environment_is_normalised(monkeypatch):
    # Given DATABASE_URL in the environment
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/app")

    # When settings are read
    # Then it is normalised too
    assert Settings().resolved_database_url == "postgresql+psycopg://u@db/app"


def test_without_database_url_sqlite_under_data_dir_is_used(tmp_path, monkeypatch):
    # Given no DATABASE_URL
    monkeypatch.delenv("DATABASE_URL", raising=False)

    # When settings resolve the URL
    settings = Settings(data_dir=tmp_path)

    # Then it is a SQLite file under the data dir
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'minirag.db').resolve()}"


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_secrets_are_required_outside_local_and_test(no_secret_env, environment):
    # Given a deployed environment without JWT_SECRET and FERNET_KEYS
    # When settings are built
    # Then it is a validation error naming both
    with pytest.raises(ValidationError) as raised:
        Settings(environment=environment)
    assert "JWT_SECRET" in str(raised.value) and "FERNET_KEYS" in str(raised.value)


def test_one_missing_secret_is_named(no_secret_env):
    # Given prod with a JWT secret but no Fernet keys
    # When settings are built
    # Then only FERNET_KEYS is reported missing
    with pytest.raises(ValidationError) as raised:
        Settings(environment="prod", jwt_secret="s" * 40)
    assert "FERNET_KEYS" in str(raised.value) and "JWT_SECRET" not in str(raised.value)


@pytest.mark.parametrize("environment", ["local", "test"])
def test_secrets_are_optional_locally(no_secret_env, environment):
    # Given a local or test environment without secrets
    # When settings are built
    settings = Settings(environment=environment)

    # Then that is allowed, and asking for a secret says how to get one
    assert settings.jwt_secret is None
    with pytest.raises(RuntimeError):
        settings.require_jwt_secret()


def test_url_fetch_allow_private_is_refused_in_prod(no_secret_env):
    # Given prod with every secret, and URL_FETCH_ALLOW_PRIVATE set
    # When settings are built
    # Then it is a validation error
    with pytest.raises(ValidationError) as raised:
        Settings(environment="prod", jwt_secret="s" * 40, fernet_keys="k", url_fetch_allow_private=True)
    assert "URL_FETCH_ALLOW_PRIVATE" in str(raised.value)


def test_url_fetch_allow_private_is_allowed_in_test_and_dev(no_secret_env):
    # Given test and dev environments with the flag set
    # Then settings build
    assert Settings(environment="test", url_fetch_allow_private=True).url_fetch_allow_private
    assert Settings(environment="dev", jwt_secret="s", fernet_keys="k", url_fetch_allow_private=True)


def test_secrets_do_not_appear_in_repr():
    # Given settings with secrets
    settings = Settings(jwt_secret="jwt-very-secret", fernet_keys="fernet-very-secret")

    # Then neither appears when the settings are printed
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings.model_dump())


def test_require_fernet_keys_splits_and_trims():
    # Given comma-separated keys with spaces and an empty entry
    settings = Settings(fernet_keys=" new , old ,")

    # Then they come back in order, trimmed
    assert settings.require_fernet_keys() == ["new", "old"]


def test_get_settings_is_cached_and_resettable(monkeypatch):
    # Given cached settings
    first = get_settings()
    assert get_settings() is first

    # When the environment changes and the cache is cleared
    monkeypatch.setenv("MAX_TEXT_SOURCE_CHARS", "1234")
    get_settings.cache_clear()

    # Then the new value is read
    assert get_settings().max_text_source_chars == 1234
