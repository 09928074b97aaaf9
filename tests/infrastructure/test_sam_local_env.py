"""infra/env.local.json (`sam local ... --env-vars`) and template.yaml agree: sam local only sets
variables the template declares, so a name the template lacks would be silently ignored."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import yaml

from minirag.local.template import load_template
from minirag.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(str(ROOT / "template.yaml"))
RESOURCES = TEMPLATE.raw["Resources"]
ENV_FILE = json.loads((ROOT / "infra" / "env.local.json").read_text())
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
GLOBAL_ENV = set(TEMPLATE.raw["Globals"]["Function"]["Environment"]["Variables"])


def _declared(function_id: str) -> set[str]:
    own = RESOURCES[function_id]["Properties"].get("Environment", {}).get("Variables", {})
    return GLOBAL_ENV | set(own)


def test_every_function_in_the_env_file_exists_in_the_template():
    # Given the env file's sections (Parameters = every function)
    sections = set(ENV_FILE) - {"Parameters"}

    # Then each names a function of the template
    functions = {k for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
    assert sections <= functions, sections - functions


def test_every_variable_is_declared_by_the_template():
    # Given the variables set for all functions and per function
    for name in ENV_FILE["Parameters"]:
        # Then every function declares the shared ones (Globals)
        assert name in GLOBAL_ENV, name
    for function_id, variables in ENV_FILE.items():
        if function_id == "Parameters":
            continue
        # And each function declares its own
        assert set(variables) <= _declared(function_id), set(variables) - _declared(function_id)


def test_env_file_points_at_the_docker_compose_services_and_settings_names():
    # Given the env file's shared variables
    env = ENV_FILE["Parameters"]
    services = set(COMPOSE["services"])

    # Then the endpoints are docker-compose services (reachable with --docker-network minirag_default)
    for name in ("AWS_ENDPOINT_URL", "QDRANT_URL", "INGEST_QUEUE_URL"):
        assert urlparse(env[name]).hostname in services, name
    # And the resource names are the settings' (what the compose bootstrap creates)
    defaults = Settings.model_fields
    assert env["INGEST_QUEUE_URL"].rsplit("/", 1)[1] == defaults["ingest_queue_name"].default
    assert env["UPLOAD_BUCKET"] == defaults["upload_bucket"].default
    bootstrap = COMPOSE["services"]["bootstrap"]
    assert bootstrap["command"] == ["--app-secret", env["APP_SECRETS_ARN"]]
    # And every value is a string (sam local passes them to the container as they are)
    assert all(isinstance(v, str) for section in ENV_FILE.values() for v in section.values())


def test_env_file_holds_no_secret_values():
    # Given the env file
    names = {name for section in ENV_FILE.values() for name in section}

    # Then secrets come from the (local) app secret, as in AWS, not from this file
    assert not names & {"JWT_SECRET", "FERNET_KEYS", "DATABASE_URL", "QDRANT_API_KEY", "EMBEDDING_API_KEY"}
