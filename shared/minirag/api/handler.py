"""`make_handler(app)`: the Lambda entry point of every HTTP function.

Mangum (lifespan off) adapts API Gateway HTTP API v2 events to ASGI; Powertools injects the Lambda
context and the API Gateway request id as correlation id into every log line, and flushes metrics. Sync
endpoints and dependencies run inline meanwhile (api/inline_sync.py).
Each function module exposes both `app` (the ASGI app: OpenAPI, response streaming) and `handler`."""

from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools.logging import correlation_paths
from fastapi import FastAPI
from mangum import Mangum

from minirag.api.inline_sync import inline_sync
from minirag.observability import cold_start_metric_enabled, get_tracer, logger, metrics
from minirag.snapstart import register_snapstart_hooks


def make_handler(app: FastAPI) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    asgi_handler = Mangum(app, lifespan="off", api_gateway_base_path="/")
    register_snapstart_hooks()  # no-op unless SnapStart's runtime library is there

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics(capture_cold_start_metric=cold_start_metric_enabled(), raise_on_empty_metrics=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        tracer = get_tracer()
        with inline_sync():  # one request per container: no worker-thread hops (api/inline_sync.py)
            if tracer is not None:
                return tracer.capture_method(asgi_handler)(event, context)
            return asgi_handler(event, context)

    return handler
