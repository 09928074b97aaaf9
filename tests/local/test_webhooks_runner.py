"""`minirag dev` delivers webhook events too: its second worker drains the embedded `webhooks`
queue into the real webhook function, as Lambda's SQS mapping on WebhookQueue would."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from tests.integration.webhooks.receiver import receiver  # noqa: F401  (a fixture)
from tests.runner_process import add_text_source, bootstrap_tenant, start_local_runner, stop, wait_until


def test_the_runner_delivers_a_signed_source_ingested(tmp_path: Path, receiver, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    # Given a runner allowed to reach the receiver on 127.0.0.1 (loopback only; never in production)
    monkeypatch.setenv("URL_FETCH_ALLOW_PRIVATE", "true")
    runner, api = start_local_runner(tmp_path)
    try:
        auth = bootstrap_tenant(api)
        hook = httpx.post(f"{api}/v1/webhooks", headers=auth, timeout=10,
                          json={"url": receiver.url, "events": ["source.ingested"]}).json()
        source = {"id": add_text_source(api, auth)}

        # When the source is ingested through the runner
        assert httpx.post(f"{api}/v1/sources/{source['id']}/ingest", headers=auth, timeout=10).status_code == 202

        # Then the receiver gets a signed source.ingested, and the delivery log shows it
        assert wait_until(lambda: len(receiver.requests) == 1, 60)
        payload = Webhook(hook["secret"]).verify(receiver.requests[0].body, receiver.requests[0].headers)
        assert payload["type"] == "source.ingested" and payload["data"]["source_id"] == source["id"]
        assert wait_until(lambda: httpx.get(f"{api}/v1/webhooks/{hook['id']}/deliveries", headers=auth,
                                            timeout=5).json()["data"] != [], 10)
        [logged] = httpx.get(f"{api}/v1/webhooks/{hook['id']}/deliveries", headers=auth, timeout=5).json()["data"]
        assert logged["status_code"] == 200 and logged["success"] is True
    finally:
        stop(runner)
