"""Route a request through `template.yaml` to a function's real handler, in this process: the local
runner, the tests and the benches all call a handler this way, with the same API Gateway HTTP API
v2 event and Lambda context. `sandbox_environment` is the settings the tests and benches run under."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minirag.local.events import LambdaContext, http_api_event, response_body_bytes
from minirag.local.template import HttpRoute, Template, load_handler


@dataclass(frozen=True)
class Invocation:
    """A handler's answer, as API Gateway would turn it into an HTTP response."""

    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes
    cookies: list[str] = field(default_factory=list)
    multi_value_headers: dict[str, list[str]] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class NoRoute(LookupError):
    """The template routes no function to this method and path."""


def route_event(route: HttpRoute, path_parameters: dict[str, str] | None, method: str, path: str, *,
                query: dict[str, str] | list[tuple[str, str]] | None = None, headers: dict[str, str] | None = None,
                body: bytes | str | None = None, source_ip: str = "127.0.0.1") -> tuple[dict[str, Any], LambdaContext]:
    """The event and context API Gateway and Lambda would hand the route's function."""
    event = http_api_event(method, path, route_key=route.route_key, path_parameters=path_parameters or None,
                           query=query or None, headers=headers, body=body or None, source_ip=source_ip)
    context = LambdaContext(function_name=route.function.logical_id, timeout_seconds=route.function.timeout)
    return event, context


def invoke_route(template: Template, route: HttpRoute, path_parameters: dict[str, str] | None, method: str,
                 path: str, **request: Any) -> Invocation:
    """Call the route's handler with its event; `request` is `route_event`'s keyword arguments."""
    event, context = route_event(route, path_parameters, method, path, **request)
    result = _call(load_handler(template, route.function), event, context)
    return Invocation(
        status=int(result.get("statusCode", 200)),
        headers={k.lower(): v for k, v in (result.get("headers") or {}).items()},
        body=response_body_bytes(result),
        cookies=list(result.get("cookies") or []),
        multi_value_headers=dict(result.get("multiValueHeaders") or {}),
    )


def invoke(template: Template, method: str, path: str, **request: Any) -> Invocation:
    """Route `method path` by the template and call that function's handler."""
    matched = template.match(method, path)
    if matched is None:
        raise NoRoute(f"template.yaml has no route for {method} {path}")
    route, path_parameters = matched
    return invoke_route(template, route, path_parameters, method, path, **request)


def _call(handler: Any, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Mangum drives the app with `asyncio.get_event_loop()`, which only the main thread has (as in
    Lambda); a call from a worker thread (the runner) gets a loop of its own."""
    if threading.current_thread() is threading.main_thread():
        return handler(event, context)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return handler(event, context)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


_SANDBOX_UNSET = ("DATABASE_URL", "QDRANT_URL", "AWS_ENDPOINT_URL", "INGEST_QUEUE_URL")


def sandbox_environment(environ: MutableMapping[str, str], data_dir: Path, **overrides: str) -> None:
    """Settings that reach nothing outside this process: SQLite under `data_dir`, Qdrant in memory,
    the in-process queue, local uploads, fresh secrets, no metrics (tests and benches). Apply it to
    `os.environ` before anything reads the settings."""
    from cryptography.fernet import Fernet

    for name in _SANDBOX_UNSET:
        environ.pop(name, None)
    environ.update({
        "ENVIRONMENT": "local",
        "DATA_DIR": str(data_dir),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "FERNET_KEYS": Fernet.generate_key().decode(),
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "QDRANT_PATH": ":memory:",
        "QUEUE_BACKEND": "embedded",
        "STORAGE_BACKEND": "local",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        **overrides,
    })
