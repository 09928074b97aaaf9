"""`record_handler` for the ingest function: one SQS record = one `IngestMessage`.

Outcome per record (Powertools batch processing reports failures as `batchItemFailures`):
- success, superseded or permanent failure (unsupported file, SSRF refusal, a provider that
  refuses the key or the request, ...): the record is acknowledged; a permanent failure marks the
  source `failed` with a readable reason;
- retryable failure (provider, vector store, DB, network): the record fails and comes back; the
  source stays in progress with the reason in `last_error`; on its last receive
  (ApproximateReceiveCount ≥ INGEST_MAX_RECEIVE_COUNT, the queue's maxReceiveCount) the source is
  marked `failed` too, and the message goes on to the DLQ;
- a malformed message fails every time and so ends in the DLQ, where it can be inspected.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from minirag.db.engine import get_session_factory
from minirag.db.scope import TenantScope
from minirag.errors import AppError
from minirag.llm.gateway import get_gateway
from minirag.observability import logger
from minirag.queue.messages import IngestMessage
from minirag.queue.publisher import get_publisher
from minirag.services.ingestion import IngestionService
from minirag.settings import get_settings
from minirag.storage.uploads import get_storage

# Errors the gateway does not retry either (minirag.llm.gateway): retrying cannot fix them.
PERMANENT_CODES = frozenset({"provider_auth_failed", "provider_rejected_request", "offline_model_unavailable"})


def is_permanent(error: AppError) -> bool:
    return not error.retryable or error.code in PERMANENT_CODES


def record_handler(record: SQSRecord) -> None:
    try:
        message = IngestMessage.model_validate_json(record.body)
    except ValidationError:
        logger.error("malformed ingest message; it will end in the dead-letter queue",
                     extra={"message_id": record.message_id})
        raise
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
            if is_permanent(exc):
                logger.info("ingest failed permanently", extra={"reason": exc.message, "code": exc.code})
                service.mark_failed(message, exc.message)
                return
            logger.warning("ingest failed, will retry", extra={"reason": exc.message, "receive_count": receive_count})
            if last_attempt:
                service.mark_failed(message, f"{exc.message} (gave up after {receive_count} attempts)")
            else:
                _note_retry(service, message, f"{exc.message} (attempt {receive_count} of "
                                              f"{settings.ingest_max_receive_count}; retrying)")
            raise
        except Exception:
            logger.exception("ingest failed unexpectedly", extra={"receive_count": receive_count})
            if last_attempt:
                service.mark_failed(message, f"internal error while ingesting (gave up after {receive_count} "
                                             "attempts); ingest again to retry")
            else:
                _note_retry(service, message, f"internal error while ingesting (attempt {receive_count} of "
                                              f"{settings.ingest_max_receive_count}; retrying)")
            raise
    finally:
        session.close()
        logger.remove_keys(["tenant_id", "source_id"])


def _note_retry(service: IngestionService, message: IngestMessage, reason: str) -> None:
    """Best effort: the retry happens whether or not the note can be written (the DB may be down)."""
    try:
        service.note_retry(message, reason)
    except Exception:
        logger.warning("could not record the retry on the source", exc_info=True)
