"""Shared with the ingest tests: SQS and S3 on a moto server over HTTP (127.0.0.1)."""

from tests.integration.ingest.support import moto_aws  # noqa: F401
