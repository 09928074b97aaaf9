"""The reconciler: a scheduled function (EventBridge Schedule in template.yaml; the local runner runs
it on the same rate). Re-enqueues or fails sources stuck in progress, re-sends lost purges."""

from dataclasses import asdict

from minirag.db.engine import get_session_factory
from minirag.db.sweep import Sweep
from minirag.observability import cold_start_metric_enabled, logger, metrics
from minirag.queue.publisher import get_publisher
from minirag.queue.webhooks import get_webhook_publisher
from minirag.services.reconcile import ReconcileService
from minirag.services.webhook_events import WebhookEvents
from minirag.settings import get_settings


def _live_messages(settings):
    """The embedded queue can say which sources have a message; SQS cannot be asked."""
    if settings.queue_backend != "embedded":
        return None
    from minirag.queue.embedded import get_embedded_queue

    return get_embedded_queue().mentions


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=cold_start_metric_enabled(), raise_on_empty_metrics=False)
def handler(event, context):
    settings = get_settings()
    service = ReconcileService(Sweep(get_session_factory()), settings, publisher=get_publisher(),
                               live_messages=_live_messages(settings),
                               events=WebhookEvents(get_webhook_publisher()))
    return asdict(service.run())
