"""A Lambda invocation runs FastAPI's sync dependencies and endpoints in the invoking thread (no
worker-thread hops, api/inline_sync.py); the same app served as ASGI keeps anyio's thread pool."""

from __future__ import annotations

import json
import threading
from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from minirag.api.handler import make_handler
from minirag.local.events import LambdaContext, http_api_event, response_body_bytes
from minirag.local.invoke import _call


def dependency_thread() -> int:
    return threading.get_ident()


def _thread_app() -> FastAPI:
    app = FastAPI()

    @app.get("/where")
    def where(dependency: Annotated[int, Depends(dependency_thread)]) -> dict[str, int]:
        return {"endpoint": threading.get_ident(), "dependency": dependency}

    return app


def test_a_lambda_invocation_runs_sync_code_in_the_invoking_thread():
    handler = make_handler(_thread_app())
    result = handler(http_api_event("GET", "/where", route_key="GET /where"), LambdaContext(function_name="T"))
    body = json.loads(response_body_bytes(result))
    assert result["statusCode"] == 200
    assert body == {"endpoint": threading.get_ident(), "dependency": threading.get_ident()}


def test_the_asgi_app_keeps_the_thread_pool_also_after_an_invocation():
    app = _thread_app()
    make_handler(app)(http_api_event("GET", "/where", route_key="GET /where"), LambdaContext(function_name="T"))
    with TestClient(app) as client:
        body = client.get("/where").json()
    # TestClient runs the app on its own loop thread; the sync endpoint goes to a worker thread
    assert body["endpoint"] != threading.get_ident() and body["dependency"] != threading.get_ident()


def test_invocations_in_several_threads_each_stay_in_their_own_thread():
    handler = make_handler(_thread_app())
    seen: list[tuple[int, dict[str, int]]] = []

    def invoke() -> None:  # as the local runner calls a handler from its server threads
        result = _call(handler, http_api_event("GET", "/where", route_key="GET /where"),
                       LambdaContext(function_name="T"))
        seen.append((threading.get_ident(), json.loads(response_body_bytes(result))))

    threads = [threading.Thread(target=invoke) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4 and all(body["endpoint"] == ident == body["dependency"] for ident, body in seen)
