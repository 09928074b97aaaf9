"""End-to-end fixtures: LocalStack (started here without Docker, or the one at LOCALSTACK_URL), the
bootstrap, and the local runner served on 127.0.0.1 pointed at LocalStack by environment only.

Without LocalStack the tests skip with the reason, unless MINIRAG_REQUIRE_E2E=1 (CI), where that is a
failure. Marked `e2e`: the default run leaves them out; `make test-e2e` runs them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, reset_caches

RUN_LOCALSTACK = ROOT / "infra" / "localstack" / "run.sh"
LOCALSTACK_VENV = Path(os.environ.get("LOCALSTACK_VENV", ROOT / ".tools" / "localstack-venv"))
STARTUP_SECONDS = float(os.environ.get("LOCALSTACK_STARTUP_SECONDS", "120"))


def unavailable(reason: str) -> None:
    if os.environ.get("MINIRAG_REQUIRE_E2E") == "1":
        pytest.fail(f"MINIRAG_REQUIRE_E2E=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serves_sqs_and_s3(url: str) -> bool:
    try:
        services = httpx.get(f"{url}/_localstack/health", timeout=2).json().get("services", {})
    except (httpx.HTTPError, ValueError):
        return False
    return all(services.get(name) in ("available", "running") for name in ("sqs", "s3", "secretsmanager"))


@pytest.fixture(autouse=True)
def clean_state():
    """The e2e stack manages its own state (overrides the per-backend fixture of tests/conftest.py)."""
    yield None


@pytest.fixture(scope="session")
def localstack_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("LOCALSTACK_URL")
    if url:
        if not _serves_sqs_and_s3(url.rstrip("/")):
            unavailable(f"LOCALSTACK_URL={url} does not answer with SQS, S3 and Secrets Manager")
        yield url.rstrip("/")
        return
    if not (LOCALSTACK_VENV / "bin" / "python").exists():
        unavailable(f"LocalStack is not installed in {LOCALSTACK_VENV} (run `make localstack-install`, "
                    "or set LOCALSTACK_URL to a running LocalStack)")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    data = tmp_path_factory.mktemp("localstack")
    log = (data / "localstack.log").open("wb")
    process = subprocess.Popen([str(RUN_LOCALSTACK), str(port)], stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "LOCALSTACK_DATA": str(data),
                                    "LOCALSTACK_VENV": str(LOCALSTACK_VENV)},
                               start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _serves_sqs_and_s3(url):
            try:
                process.wait(timeout=0.25)  # returns only if LocalStack exited
            except subprocess.TimeoutExpired:
                pass
            else:
                tail = (data / "localstack.log").read_text(errors="replace")[-2000:]
                unavailable(f"LocalStack exited with code {process.returncode} on start:\n{tail}")
            if time.monotonic() > deadline:
                unavailable(f"LocalStack did not become healthy within {STARTUP_SECONDS:.0f} s")
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


@dataclass
class LocalStack:
    url: str
    api: str
    queue_url: str
    dlq_url: str
    bucket: str
    worker: Any

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service)


@pytest.fixture(scope="session")
def stack(localstack_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """`make dev-aws` in-process: the settings point at LocalStack by environment only, the bootstrap
    creates the queue/DLQ/bucket and migrates, and the runner serves template.yaml on 127.0.0.1. The
    ingest worker (SqsSource on the real queue) is built here and started by the test. JWT and Fernet
    secrets come from LocalStack's Secrets Manager (APP_SECRETS_ARN), as in a deployment."""
    import boto3
    import uvicorn

    from minirag.cli import build_worker
    from minirag.local.aws_bootstrap import bootstrap
    from minirag.local.server import build_local_app
    from minirag.local.template import load_template
    from minirag.settings import get_settings

    run = uuid.uuid4().hex[:8]
    data_dir = tmp_path_factory.mktemp("e2e")
    database_url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{data_dir / 'e2e.db'}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", localstack_url)
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_ACCESS_KEY_ID", "test")
        env.setenv("AWS_SECRET_ACCESS_KEY", "test")
        secret = {"JWT_SECRET": os.environ["JWT_SECRET"], "FERNET_KEYS": os.environ["FERNET_KEYS"]}
        arn = boto3.client("secretsmanager").create_secret(
            Name=f"minirag/e2e-{run}/app", SecretString=json.dumps(secret))["ARN"]
        for name, value in {
            "QUEUE_BACKEND": "sqs", "STORAGE_BACKEND": "s3", "DATABASE_URL": database_url,
            "INGEST_QUEUE_NAME": f"minirag-ingest-e2e-{run}", "INGEST_DLQ_NAME": f"minirag-ingest-dlq-e2e-{run}",
            "UPLOAD_BUCKET": f"minirag-uploads-e2e-{run}", "DATA_DIR": str(data_dir),
            "APP_SECRETS_ARN": arn, "JWT_SECRET": "", "FERNET_KEYS": "",  # from Secrets Manager
        }.items():
            env.setenv(name, value)
        from minirag import app_secrets

        app_secrets.fetch_app_secrets.cache_clear()
        reset_caches()
        settings = get_settings()
        boot = bootstrap(settings)

        template = load_template(str(ROOT / "template.yaml"))
        app = build_local_app(template, settings)
        worker = build_worker(template, settings)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               lifespan="off"))
        thread = threading.Thread(target=server.run, name="e2e-runner", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the local runner did not start", pytrace=False)
            thread.join(timeout=0.05)
        try:
            yield LocalStack(localstack_url, f"http://127.0.0.1:{port}", boot.queue_url, boot.dlq_url,
                             boot.bucket, worker)
        finally:
            worker.stop()
            server.should_exit = True
            thread.join(timeout=10)
            app_secrets.fetch_app_secrets.cache_clear()
            reset_caches()
