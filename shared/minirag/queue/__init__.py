"""Ingest messages and where they go: SQS via boto3 (moto, LocalStack, AWS by AWS_ENDPOINT_URL) or the
in-process queue that the local runner drains into the real ingest handler."""
