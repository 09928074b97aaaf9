"""The API as its OpenAPI document says it is: the merged document (the local runner's
/openapi.json, built from the template's functions) is a valid OpenAPI 3.1 document, and over every
operation, schemathesis-generated requests (valid and invalid, with a tenant's token) get responses
that match the documented schema for their status, and never a 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error, response_schema_conformance
from starlette.testclient import TestClient

from minirag.local.server import build_local_app
from minirag.local.template import load_template
from minirag.settings import get_settings
from tests.conftest import ROOT

APP = build_local_app(load_template(str(ROOT / "template.yaml")), get_settings())
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
EXAMPLES = 10  # per operation; each is a real request through the handlers


def test_the_openapi_document_is_valid():
    with TestClient(APP) as client:
        document = client.get("/openapi.json").json()
    validate(document)
    assert document["components"]["schemas"]["ErrorEnvelope"]["required"] == ["error", "detail"]
    assert "HTTPValidationError" not in document["components"]["schemas"]


@SCHEMA.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_responses_conform_to_the_schema_and_are_never_5xx(case, tenant_a):
    case.call_and_validate(headers={"authorization": f"Bearer {tenant_a.token}"},
                           checks=[response_schema_conformance, not_a_server_error])
