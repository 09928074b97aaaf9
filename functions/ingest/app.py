"""The ingest function: SQS batches of ingest messages, partial failures reported per record."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from minirag.observability import cold_start_metric_enabled, logger, metrics
from minirag.workers.ingest import record_handler


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=cold_start_metric_enabled())
def handler(event, context):
    # One processor per invocation: it keeps the batch's records and results on itself, so a
    # module-level one would mix up two invocations running at once in one process (the local
    # runner, tests). Every record failing is reported as batchItemFailures too (not an invocation
    # error), so one poison batch does not hide which records failed.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
