"""The webhook function: SQS batches of webhook events, one POST each (short timeout, SSRF-vetted,
no redirects), a delivery-log row per attempt. A failed attempt is reported as a batch item failure
and comes back after an exponential back-off; after WEBHOOK_MAX_RECEIVE_COUNT receives the queue's
redrive policy moves it to the DLQ."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from minirag.db.engine import get_session_factory
from minirag.db.scope import TenantScope
from minirag.observability import cold_start_metric_enabled, logger, metrics
from minirag.queue.webhooks import WebhookMessage, delay_retry
from minirag.services.webhooks import WebhookAttemptFailed, WebhookDeliveryService
from minirag.settings import get_settings


def record_handler(record: SQSRecord) -> None:
    try:
        message = WebhookMessage.model_validate_json(record.body)
    except ValidationError:
        logger.error("malformed webhook message; it will end in the dead-letter queue",
                     extra={"message_id": record.message_id})
        raise
    attempt = int(record.attributes.approximate_receive_count or 1)
    with logger.append_context_keys(message_id=record.message_id, tenant_id=str(message.tenant_id),
                                    webhook_id=str(message.webhook_id)), get_session_factory()() as session:
        try:
            WebhookDeliveryService(TenantScope(session, message.tenant_id), get_settings()).deliver(message, attempt)
        except WebhookAttemptFailed:
            delay_retry(record.receipt_handle, attempt)
            raise


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=cold_start_metric_enabled())
def handler(event, context):
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
