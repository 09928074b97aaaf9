"""Powertools Logger and Metrics, created once per process and imported everywhere (never create
new ones). The Tracer costs ~0.24 s to import, so it is built only when TRACING_ENABLED is set.

The Logger's keys (the Lambda context, request, tenant and source ids) belong to one invocation.
Powertools keeps them on its formatter, one dict per process: right in Lambda (one invocation at a
time per process), wrong in the local runner and the tests, where HTTP and ingest invocations run
at once on threads of one process and each `inject_lambda_context` would overwrite the others' keys.
`InvocationFormatter` keeps that dict in a context variable instead: `inject_lambda_context(
clear_state=True)` starts a fresh one for its thread, and what the invocation runs (asyncio tasks,
FastAPI's threadpool) inherits it, so `append_keys` anywhere in an invocation lands in its own keys."""

from __future__ import annotations

import os
import warnings
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "minirag")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "MiniRAG")

# An invocation that records no business metric is normal (reads); only the cold-start metric goes out.
warnings.filterwarnings("ignore", message="No application metrics to publish")



class InvocationFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter with its keys (`log_format`) per invocation (see the docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        self._invocation_keys: ContextVar[dict[str, Any] | None] = ContextVar("minirag_log_keys", default=None)
        self._process_keys: dict[str, Any] = {}
        super().__init__(**kwargs)
        # What the constructor set is the process's keys: used outside any invocation.
        self._process_keys = self._invocation_keys.get() or {}
        self._invocation_keys.set(None)

    @property  # type: ignore[override]
    def log_format(self) -> dict[str, Any]:
        keys = self._invocation_keys.get()
        return self._process_keys if keys is None else keys

    @log_format.setter
    def log_format(self, keys: dict[str, Any]) -> None:
        # Powertools assigns a new dict only when it clears the state (an invocation starts).
        self._invocation_keys.set(keys)


logger = Logger(service=SERVICE, logger_formatter=InvocationFormatter())
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


@lru_cache(maxsize=1)
def get_tracer() -> Any | None:
    from minirag.settings import get_settings

    if not get_settings().tracing_enabled:
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


def cold_start_metric_enabled() -> bool:
    """Powertools prints the ColdStart metric even with POWERTOOLS_METRICS_DISABLED; honour it here."""
    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "false").lower() not in ("1", "true", "yes")
