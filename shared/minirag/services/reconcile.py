"""Nothing stays stuck: the reconciler (a scheduled function; the local runner runs it too) and the
dead-letter redrive.

- A source queued or processing with no progress for INGEST_STUCK_AFTER_SECONDS and no live
  message is re-enqueued once (a `plan` message for the same version: delivery is idempotent, so
  work already recorded is kept), and failed with a reason the next time it is found stuck. On the
  embedded queue "no live message" is known exactly; on SQS it cannot be asked, so the deadline
  alone decides (set it above the longest legitimate backlog).
  A source failed this way sends `source.failed` to the tenant's webhooks, like a failed ingest.
- A deactivated source whose purge never completed gets its purge message again.
- `redrive`: dead letters back to work. A plan/batch message of a failed version becomes one fresh
  `plan` of that version (its source back to `queued`), so the whole version is ingested again;
  a purge goes back as it was; a body that is no ingest message stays in the DLQ.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable, Iterable

from pydantic import ValidationError

from minirag.db import source_rows
from minirag.db.base import utcnow
from minirag.db.models import SourceStatus
from minirag.db.sweep import Sweep
from minirag.observability import logger, metrics
from minirag.queue.messages import IngestMessage
from minirag.queue.publisher import IngestPublisher
from minirag.services.webhook_events import WebhookEvents
from minirag.settings import Settings

IN_PROGRESS = (SourceStatus.queued, SourceStatus.processing)
LiveMessages = Callable[[Iterable[str]], set[str]]
"""Which of these source ids a queued or in-flight message names (the embedded queue knows)."""


@dataclass
class ReconcileReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    purges: list[str] = field(default_factory=list)
    live: int = 0


@dataclass
class RedriveReport:
    requeued: list[str] = field(default_factory=list)  # message bodies handled (to delete from the DLQ)
    skipped: list[str] = field(default_factory=list)  # bodies left in the DLQ


class ReconcileService:
    def __init__(self, sweep: Sweep, settings: Settings, *, publisher: IngestPublisher,
                 live_messages: LiveMessages | None = None, events: WebhookEvents | None = None) -> None:
        self._sweep = sweep
        self._events = events  # a source the reconciler fails sends `source.failed`, as an ingest would
        self._settings = settings
        self._publisher = publisher
        self._live = live_messages

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        stuck_after = timedelta(seconds=self._settings.ingest_stuck_after_seconds)
        before = utcnow() - stuck_after
        stalled = self._sweep.stalled_sources(before)
        live = self._live([str(s) for _, s in stalled]) if self._live is not None and stalled else set()
        report.live = len(live)
        for tenant_id, source_id in stalled:
            if str(source_id) not in live:
                self._unstick(tenant_id, source_id, stuck_after, report)
        for tenant_id, source_id in self._sweep.unpurged_sources(before):
            if self._live is not None and str(source_id) in self._live([str(source_id)]):
                continue  # its purge is on the queue
            self._publisher.publish([IngestMessage(tenant_id=tenant_id, source_id=source_id, version=1, kind="purge")])
            report.purges.append(str(source_id))
        if report.requeued or report.failed or report.purges:
            logger.warning("reconciler acted", extra={"requeued": report.requeued, "failed": report.failed,
                                                      "purges": report.purges})
        metrics.add_metric(name="ReconcileRequeued", unit="Count", value=len(report.requeued))
        metrics.add_metric(name="ReconcileFailed", unit="Count", value=len(report.failed))
        return report

    def _unstick(self, tenant_id: uuid.UUID, source_id: uuid.UUID, stuck_after: timedelta,
                 report: ReconcileReport) -> None:
        action = "none"
        with self._sweep.tenant_scope(tenant_id) as scope:
            with scope.write():
                source = source_rows.lock_source(scope, source_id)
                if source is None or not source.is_active or source.status not in IN_PROGRESS:
                    return  # moved on meanwhile
                if source.updated_at > utcnow() - stuck_after:
                    return
                version = source.version
                minutes = max(1, round(stuck_after.total_seconds() / 60))
                if source.requeued_version != version:
                    source.requeued_version = version
                    source.last_error = f"no progress for {minutes} min; re-queued by the reconciler"
                    action = "requeue"
                else:
                    source.status = SourceStatus.failed
                    source.last_error = (f"no progress for {minutes} min, even after being re-queued; "
                                         "ingest it again")
                    source.finished_at = utcnow()
                    source_rows.delete_version_rows(scope, source.id, version=version)
                    action = "fail"
            if action == "fail" and self._events is not None:
                self._events.source_finished(scope, source_id)  # after the commit, as ingestion does
        if action == "requeue":
            self._publisher.publish([IngestMessage(tenant_id=tenant_id, source_id=source_id, version=version)])
            report.requeued.append(str(source_id))
        elif action == "fail":
            report.failed.append(str(source_id))

    # -- the dead-letter queue ---------------------------------------------------------------------
    def redrive(self, bodies: Iterable[str]) -> RedriveReport:
        report = RedriveReport()
        retried: set[tuple[uuid.UUID, int]] = set()
        for body in bodies:
            try:
                message = IngestMessage.model_validate_json(body)
            except ValidationError:
                report.skipped.append(body)  # not an ingest message: left for a person to read
                continue
            if message.kind == "purge":
                self._publisher.publish([message])
            elif (message.source_id, message.version) not in retried:
                retried.add((message.source_id, message.version))
                if self._reopen(message):
                    self._publisher.publish([IngestMessage(tenant_id=message.tenant_id, source_id=message.source_id,
                                                           version=message.version)])
            report.requeued.append(body)
        return report

    def _reopen(self, message: IngestMessage) -> bool:
        """A failed version back to `queued` (its counters reset); False when the source moved on
        (a newer request, deleted, ready): then the dead letter is simply dropped."""
        with self._sweep.tenant_scope(message.tenant_id) as scope, scope.write():
            source = source_rows.lock_source(scope, message.source_id)
            if source is None or not source.is_active or source.version != message.version:
                return False
            if source.status is not SourceStatus.failed:
                return source.status in IN_PROGRESS  # still going: a fresh plan is harmless
            source_rows.delete_version_rows(scope, source.id, version=message.version)
            source.status = SourceStatus.queued
            source.last_error = None
            source.queued_at = utcnow()
            source.started_at = source.finished_at = None
            source.documents_done = source.documents_total = source.chunks_total = 0
            source.batches_done = source.batches_total = 0
            source.requeued_version = None
            return True
