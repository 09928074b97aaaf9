"""Secrets at run time from AWS Secrets Manager, for deployed functions.

The template gives every function `APP_SECRETS_ARN` (and `secretsmanager:GetSecretValue` on that one
secret, nothing else). The secret is a JSON object of environment-style names, for example

    {"JWT_SECRET": "...", "FERNET_KEYS": "new,old", "DATABASE_URL": "postgresql://...",
     "QDRANT_API_KEY": "...", "EMBEDDING_API_KEY": "...", "OPENAI_API_KEY": "..."}

On the first `get_settings()` of a container the secret is read once (cached for the container's
life: a rotated secret reaches new containers) and each name that the environment does not already
set is exported, so `Settings` reads JWT_SECRET, FERNET_KEYS, DATABASE_URL ... as usual and LiteLLM
finds provider keys under their usual names. Without APP_SECRETS_ARN (local runner, tests) nothing
is fetched and nothing changes.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

ARN_VARIABLE = "APP_SECRETS_ARN"


class SecretsUnavailable(RuntimeError):
    """The app secret cannot be read or is not a JSON object (the message never carries its content)."""


@lru_cache(maxsize=4)
def fetch_app_secrets(secret_id: str) -> dict[str, str]:
    """The secret's name → value pairs (names upper-cased). One GetSecretValue call per container."""
    import boto3

    try:
        raw = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    except Exception as exc:  # botocore raises many types; all mean "cannot start without secrets"
        raise SecretsUnavailable(f"cannot read the app secret {secret_id}: {type(exc).__name__}") from exc
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SecretsUnavailable(f"the app secret {secret_id} must be a JSON object of NAME: value pairs")
    return {str(name).upper(): str(value) for name, value in data.items() if value is not None}


def apply_app_secrets() -> list[str]:
    """Export the app secret's values that the environment does not set; returns the names exported."""
    secret_id = os.environ.get(ARN_VARIABLE)
    if not secret_id:
        return []
    exported = []
    for name, value in fetch_app_secrets(secret_id).items():
        if not os.environ.get(name):
            os.environ[name] = value
            exported.append(name)
    return exported
