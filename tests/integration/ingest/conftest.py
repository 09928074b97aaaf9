"""The ingest tests' shared fixtures (moto SQS/S3 over HTTP, a web server on 127.0.0.1)."""

from tests.integration.ingest.support import moto_aws, web_server  # noqa: F401
