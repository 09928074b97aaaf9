"""The webhook tests' fixtures: a real receiver on 127.0.0.1 and the local runner's webhook worker."""

from __future__ import annotations

import pytest

from tests.integration.webhooks.receiver import receiver  # noqa: F401  (a fixture)


@pytest.fixture
def local_webhooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The receiver is on 127.0.0.1, which the SSRF guard refuses: allowed (loopback only) the way
    the URL-source tests allow it. Retries at once (no back-off wait)."""
    from tests.conftest import reset_caches

    monkeypatch.setenv("URL_FETCH_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("WEBHOOK_RETRY_DELAY_SECONDS", "0")
    reset_caches()


@pytest.fixture
def webhook_worker(api, local_webhooks):
    """The local runner's worker for the template's WebhookQueue: the real webhook function."""
    from minirag.cli import build_worker
    from minirag.settings import get_settings

    return build_worker(api.template, get_settings(), queue="WebhookQueue")
