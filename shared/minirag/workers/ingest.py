"""`record_handler` for the ingest function: one SQS record = one `IngestMessage`.

Outcome per record (Powertools batch processing reports failures as `batchItemFailures`):
- success, superseded or permanent failure (unsupported file, SSRF refusal, ...): the record is
  acknowledged; a permanent failure marks the source `failed` with a readable reason;
- retryable failure (provider, vector store, DB, network): the record fails and comes back;
  on its last receive (ApproximateReceiveCount ≥ INGEST_MAX_RECEIVE_COUNT, the queue's
  maxReceiveCount) the source is marked `failed` too, and the message goes on to the DLQ;
- a malformed message fails every time and so ends in the DLQ, where it can be inspected.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from minirag.db.engine import get_session_factory
from minirag.db.scope import TenantScope
from minirag.errors import AppError
from minirag.llm.factory import get_gateway
from minirag.observability import logger
from minirag.queue.messages import IngestMessage
from minirag.queue.publisher import get_publisher
from minirag.services.ingestion import IngestionService
from minirag.settings import get_settings
from minirag.storage.uploads import get_storage


def record_handler(record: SQSRecord) -> None:
    message = IngestMessage.model_validate_json(record.body)
    receive_count = int(record.attributes.approximate_receive_count or 1)
    settings = get_settings()
    last_attempt = receive_count >= settings.ingest_max_receive_count
    logger.append_keys(tenant_id=str(message.tenant_id), source_id=str(message.source_id))
    session = get_session_factory()()
    try:
        service = IngestionService(TenantScope(session, message.tenant_id), settings, gateway=get_gateway(),
                                   storage=get_storage(), publisher=get_publisher())
        try:
            service.handle(message)
        except AppError as exc:
            if not exc.retryable:
                logger.info("ingest failed permanently", extra={"reason": exc.message})
                service.mark_failed(message, exc.message)
                return
            logger.warning("ingest failed, will retry", extra={"reason": exc.message, "receive_count": receive_count})
            if last_attempt:
                service.mark_failed(message, f"{exc.message} (gave up after {receive_count} attempts)")
            raise
        except Exception:
            logger.exception("ingest failed unexpectedly", extra={"receive_count": receive_count})
            if last_attempt:
                service.mark_failed(message, f"internal error while ingesting (gave up after {receive_count} "
                                             "attempts); ingest again to retry")
            raise
    finally:
        session.close()
        logger.remove_keys(["tenant_id", "source_id"])
