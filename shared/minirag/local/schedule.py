"""Runs the template's `Schedule` functions (the reconciler) in the local runner, as EventBridge
would: once at start-up (work stuck from before a crash is found at once), then every rate."""

from __future__ import annotations

import threading
from typing import Any, Callable

from minirag.local.events import LambdaContext, scheduled_event
from minirag.local.template import ScheduleMapping, Template, load_handler
from minirag.observability import logger


class Scheduler:
    def __init__(self, template: Template, mappings: list[ScheduleMapping] | None = None) -> None:
        self._jobs: list[tuple[ScheduleMapping, Callable[..., Any]]] = [
            (m, load_handler(template, m.function)) for m in (template.schedules if mappings is None else mappings)]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def run_all_once(self) -> None:
        for mapping, handler in self._jobs:
            self._invoke(mapping, handler)

    @staticmethod
    def _invoke(mapping: ScheduleMapping, handler: Callable[..., Any]) -> None:
        try:
            handler(scheduled_event(mapping.event_name),
                    LambdaContext(function_name=mapping.function.logical_id, timeout_seconds=mapping.function.timeout))
        except Exception:  # the next tick tries again; the runner stays up
            logger.exception("scheduled function failed", extra={"function": mapping.function.logical_id})

    def start(self) -> None:
        for mapping, handler in self._jobs:
            def loop(mapping: ScheduleMapping = mapping, handler: Callable[..., Any] = handler) -> None:
                while not self._stop.is_set():
                    self._invoke(mapping, handler)
                    self._stop.wait(mapping.rate_seconds)

            thread = threading.Thread(target=loop, name=f"minirag-schedule-{mapping.event_name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
