"""The SDK stays in step with the API: each model mirrors the OpenAPI schema it names (every field
the API requires is modelled, and no model field is unknown to the API), and the generated sync
client is exactly what unasync makes of the async one."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from minirag.local.server import build_local_app
from minirag.local.template import load_template
from minirag.settings import get_settings
from minirag_client import models
from tests.conftest import ROOT

SDK = ROOT / "clients" / "python"
MODELS = [m for m in vars(models).values()
          if isinstance(m, type) and issubclass(m, models.ApiModel) and m.__schema__]


@pytest.fixture(scope="module")
def schemas() -> dict:
    with TestClient(build_local_app(load_template(str(ROOT / "template.yaml")), get_settings())) as client:
        return client.get("/openapi.json").json()["components"]["schemas"]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_model_mirrors_its_openapi_schema(model, schemas):
    schema = schemas[model.__schema__]
    fields = set(model.model_fields)
    assert set(schema.get("required", [])) <= fields, f"{model.__name__} lacks fields the API always sends"
    assert fields <= set(schema["properties"]), f"{model.__name__} has fields the API does not define"


def test_every_public_schema_of_a_resource_has_a_model(schemas):
    modelled = {m.__schema__ for m in MODELS}
    for name in ("TenantPublic", "UserPublic", "ApiTokenPublic", "BotProfilePublic", "SourcePublic", "ChatPublic",
                 "MessagePublic", "ChatResponse", "RetrievedChunkPublic", "WebhookPublic", "WebhookDeliveryPublic"):
        assert name in schemas and name in modelled, name


def test_the_sync_client_is_generated_from_the_async_one(tmp_path: Path):
    package = tmp_path / "minirag_client"
    shutil.copytree(SDK / "src" / "minirag_client", package)
    shutil.rmtree(package / "_sync")
    subprocess.run([sys.executable, str(SDK / "scripts" / "generate_sync.py"), str(package)], check=True,
                   capture_output=True)
    committed = SDK / "src" / "minirag_client" / "_sync"
    for name in ("client.py", "__init__.py"):
        assert filecmp.cmp(package / "_sync" / name, committed / name, shallow=False), \
            f"_sync/{name} is stale: run `make sdk`"


def test_the_sdk_is_versioned_with_the_api():
    import tomllib

    import minirag
    import minirag_client

    sdk_project = tomllib.loads((SDK / "pyproject.toml").read_text())["project"]
    assert minirag_client.__version__ == sdk_project["version"] == minirag.__version__
