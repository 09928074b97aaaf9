"""The ingest function: SQS batches of ingest messages, partial failures reported per record
(Powertools batch processing: a record whose handler raises is returned as a batchItemFailure)."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from minirag.db.engine import get_session_factory
from minirag.db.scope import TenantScope
from minirag.llm.gateway import get_gateway
from minirag.observability import cold_start_metric_enabled, logger, metrics
from minirag.queue.messages import IngestMessage
from minirag.queue.publisher import get_publisher
from minirag.queue.webhooks import get_webhook_publisher
from minirag.services.ingestion import IngestionService
from minirag.services.webhook_events import WebhookEvents
from minirag.settings import get_settings
from minirag.storage.uploads import get_storage
from minirag.vectorstore.indexes import QdrantIndexes


def record_handler(record: SQSRecord) -> None:
    """One record = one `IngestMessage`; the service decides the outcome (raise = retry). A malformed
    message fails every time and so ends in the dead-letter queue, where it can be inspected."""
    try:
        message = IngestMessage.model_validate_json(record.body)
    except ValidationError:
        logger.error("malformed ingest message; it will end in the dead-letter queue",
                     extra={"message_id": record.message_id})
        raise
    settings = get_settings()
    with logger.append_context_keys(message_id=record.message_id, tenant_id=str(message.tenant_id),
                                    source_id=str(message.source_id)), get_session_factory()() as session:
        service = IngestionService(TenantScope(session, message.tenant_id), settings, gateway=get_gateway(),
                                   storage=get_storage(), publisher=get_publisher(),
                                   indexes=QdrantIndexes.from_settings(settings),
                                   events=WebhookEvents(get_webhook_publisher()))
        service.run(message, receive_count=int(record.attributes.approximate_receive_count or 1))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=cold_start_metric_enabled())
def handler(event, context):
    # One processor per invocation: it keeps the batch's records and results on itself, so a
    # module-level one would mix up two invocations running at once in one process (the local
    # runner, tests). Every record failing is reported as batchItemFailures too (not an invocation
    # error), so one poison batch does not hide which records failed.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
