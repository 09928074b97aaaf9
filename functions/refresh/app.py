"""Scheduled refresh of URL sources: an EventBridge Schedule in template.yaml (the local runner fires
it on the same rate). Queues an ingest for each due source; see minirag.services.refresh."""

from dataclasses import asdict

from minirag.db.engine import get_session_factory
from minirag.db.sweep import Sweep
from minirag.observability import cold_start_metric_enabled, logger, metrics
from minirag.queue.publisher import get_publisher
from minirag.services.refresh import RefreshService
from minirag.services.sources import SourceService
from minirag.settings import get_settings
from minirag.storage.uploads import get_storage


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=cold_start_metric_enabled(), raise_on_empty_metrics=False)
def handler(event, context):
    settings = get_settings()
    service = RefreshService(Sweep(get_session_factory()), settings, sources=lambda scope: SourceService(
        scope, settings, publisher=get_publisher(), storage=get_storage()))
    return asdict(service.run())
