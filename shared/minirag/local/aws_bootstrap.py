"""`minirag bootstrap-aws`: create what the stack creates in AWS, where there is no stack.

The ingest queue with its dead-letter queue (redrive after INGEST_MAX_RECEIVE_COUNT receives), the
upload bucket (private, encrypted, CORS for presigned PUTs, lifecycle for abandoned multipart
uploads), optionally the app secret that deployed functions read at run time (APP_SECRETS_ARN), then
the database migrations. One code path for docker-compose's LocalStack (the
`bootstrap` service), the Docker-less LocalStack (`make localstack` + `make dev-aws`), moto in tests
and the e2e test. Names come from settings (INGEST_QUEUE_NAME, INGEST_DLQ_NAME, UPLOAD_BUCKET), the
endpoint from AWS_ENDPOINT_URL, as for the app itself. Running it again changes nothing.

In AWS, template.yaml creates the same resources (IngestQueue, IngestDLQ, UploadBucket);
tests/infrastructure/test_bootstrap.py checks that the attributes below match the template.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from minirag.settings import Settings, get_settings

# Same values as template.yaml (checked by tests/infrastructure/test_bootstrap.py).
INGEST_VISIBILITY_TIMEOUT_SECONDS = 720  # 6 x the ingest function's 120 s timeout
INGEST_RETENTION_SECONDS = 4 * 24 * 3600
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
ABORT_INCOMPLETE_UPLOADS_DAYS = 1
UPLOAD_CORS_MAX_AGE_SECONDS = 3000


@dataclass(frozen=True)
class BootstrapResult:
    queue_url: str
    dlq_url: str
    dlq_arn: str
    bucket: str
    migrated: bool
    app_secret_arn: str | None = None


def _clients() -> tuple[Any, Any]:
    import boto3
    from botocore.config import Config

    # Path-style S3 as in minirag.storage.uploads: emulator hostnames have no bucket subdomains.
    s3 = boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    return boto3.client("sqs"), s3


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    """Create the queue, or bring an existing one to these attributes; returns (url, arn)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def ensure_queues(sqs: Any, settings: Settings) -> tuple[str, str, str]:
    """(queue_url, dlq_url, dlq_arn) for the ingest queue and its dead-letter queue."""
    dlq_url, dlq_arn = _queue(sqs, settings.ingest_dlq_name, {
        "MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS),
        "SqsManagedSseEnabled": "true",
    })
    queue_url, _ = _queue(sqs, settings.ingest_queue_name, {
        "VisibilityTimeout": str(INGEST_VISIBILITY_TIMEOUT_SECONDS),
        "MessageRetentionPeriod": str(INGEST_RETENTION_SECONDS),
        "SqsManagedSseEnabled": "true",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                     "maxReceiveCount": settings.ingest_max_receive_count}),
    })
    return queue_url, dlq_url, dlq_arn


def ensure_webhook_queues(sqs: Any, settings: Settings) -> str:
    """The webhook queue and its dead-letter queue (template.yaml: WebhookQueue, WebhookDLQ); its URL."""
    _, dlq_arn = _queue(sqs, settings.webhook_dlq_name, {
        "MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS),
        "SqsManagedSseEnabled": "true",
    })
    url, _ = _queue(sqs, settings.webhook_queue_name, {
        "VisibilityTimeout": "360",
        "MessageRetentionPeriod": str(INGEST_RETENTION_SECONDS),
        "SqsManagedSseEnabled": "true",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                     "maxReceiveCount": settings.webhook_max_receive_count}),
    })
    return url


def ensure_bucket(s3: Any, bucket: str, allowed_origins: list[str]) -> None:
    """The upload bucket: private, SSE-S3, CORS for browser PUTs, abandoned multipart uploads dropped."""
    from botocore.exceptions import ClientError

    region = s3.meta.region_name or "us-east-1"
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
    })
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}],
    })
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
        "AllowedMethods": ["PUT"], "AllowedOrigins": allowed_origins, "AllowedHeaders": ["content-type"],
        "MaxAgeSeconds": UPLOAD_CORS_MAX_AGE_SECONDS,
    }]})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": "AbortIncompleteUploads", "Status": "Enabled", "Filter": {"Prefix": ""},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_INCOMPLETE_UPLOADS_DAYS},
    }]})


def ensure_app_secret(name: str, settings: Settings) -> str:
    """Store this process's JWT_SECRET, FERNET_KEYS, DATABASE_URL (and QDRANT_API_KEY) as the JSON app
    secret `name`, the way a deployment keeps them (template.yaml APP_SECRETS_ARN); returns its ARN.
    For `sam local`, whose functions then read their secrets exactly as in AWS."""
    import boto3

    values = {"JWT_SECRET": settings.require_jwt_secret(), "FERNET_KEYS": ",".join(settings.require_fernet_keys()),
              "DATABASE_URL": settings.resolved_database_url}
    if settings.qdrant_api_key is not None:
        values["QDRANT_API_KEY"] = settings.qdrant_api_key.get_secret_value()
    client = boto3.client("secretsmanager")
    try:
        return client.create_secret(Name=name, SecretString=json.dumps(values))["ARN"]
    except client.exceptions.ResourceExistsException:
        return client.put_secret_value(SecretId=name, SecretString=json.dumps(values))["ARN"]


def bootstrap(settings: Settings | None = None, *, migrate: bool = True, allowed_origins: list[str] | None = None,
              app_secret_name: str | None = None) -> BootstrapResult:
    """Create (or update) the queue, DLQ and bucket through boto3 (AWS_ENDPOINT_URL: LocalStack,
    moto), optionally the app secret, then apply the migrations to DATABASE_URL. Idempotent."""
    settings = settings or get_settings()
    sqs, s3 = _clients()
    queue_url, dlq_url, dlq_arn = ensure_queues(sqs, settings)
    ensure_webhook_queues(sqs, settings)
    ensure_bucket(s3, settings.upload_bucket, allowed_origins or ["*"])
    secret_arn = ensure_app_secret(app_secret_name, settings) if app_secret_name else None
    if migrate:
        from minirag.db.migrate import upgrade

        upgrade(settings.resolved_database_url)
    return BootstrapResult(queue_url, dlq_url, dlq_arn, settings.upload_bucket, migrate, secret_arn)
