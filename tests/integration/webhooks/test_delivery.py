"""Webhook deliveries end to end: an ingest through the real handlers and the local runner's
embedded queues ends as a signed POST on a real receiver on 127.0.0.1; failures are retried,
logged per attempt, then dead-lettered; a target whose DNS turns private is refused at delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import socket

from standardwebhooks import Webhook

from tests.factories import make_bot_profile, make_ingested_source, make_source


def make_webhook(api, tenant, url: str, events=("source.ingested",)) -> dict:
    response = api.post("/v1/webhooks", {"url": url, "events": list(events)}, token=tenant.token)
    assert response.status == 201, response.body
    return response.json


def deliveries(api, tenant, webhook_id: str, **query) -> list[dict]:
    response = api.get(f"/v1/webhooks/{webhook_id}/deliveries", token=tenant.token, query=query)
    assert response.status == 200, response.body
    return response.json["data"]


def test_ingest_delivers_a_signed_source_ingested(api, tenant_a, tenant_b, receiver, webhook_worker,
                                                  ingest_worker, caplog):
    # Given A's webhook for source.ingested (and B's, on the same receiver, for every event)
    hook = make_webhook(api, tenant_a, receiver.url)
    make_webhook(api, tenant_b, receiver.url + "/b", events=("source.ingested", "source.failed", "chat.message"))
    bot = make_bot_profile(api, tenant_a)

    # When a source of A's is ingested by the real ingest handler and the webhook worker drains its queue
    with caplog.at_level(logging.DEBUG):
        source = make_ingested_source(api, tenant_a, bot["id"], ingest_worker)
        assert webhook_worker.drain() == 1

    # Then the receiver got one POST, signed per Standard Webhooks and with the MiniRAG headers
    [request] = receiver.requests
    assert request.path == "/hooks"
    payload = Webhook(hook["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "source.ingested" and payload["timestamp"]
    assert payload["data"] == {"source_id": source["id"], "bot_profile_id": bot["id"], "status": "ready",
                               "chunk_count": source["progress"]["chunks"], "error": None}
    assert request.headers["x-minirag-event"] == "source.ingested"
    key = base64.b64decode(hook["secret"].removeprefix("whsec_"))
    expected = "sha256=" + hmac.new(key, request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-minirag-signature"], expected)
    assert request.headers["content-type"] == "application/json"

    # And the delivery log shows the attempt; the secret is in no log line
    [logged] = deliveries(api, tenant_a, hook["id"])
    assert logged["event"] == "source.ingested" and logged["attempt"] == 1 and logged["status_code"] == 200
    assert logged["success"] is True and logged["error"] is None and logged["duration_ms"] >= 0
    assert logged["event_id"] == request.headers["webhook-id"] and logged["created_at"]
    assert hook["secret"] not in caplog.text and hook["secret"].removeprefix("whsec_") not in caplog.text


def test_failed_ingest_delivers_source_failed_with_the_error(api, tenant_a, receiver, webhook_worker,
                                                             ingest_worker):
    hook = make_webhook(api, tenant_a, receiver.url, events=("source.failed",))
    bot = make_bot_profile(api, tenant_a)
    source = make_source(api, tenant_a, bot["id"], content="   \n  ")  # no documents: fails terminally
    assert api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token).status == 202
    ingest_worker.drain()

    assert webhook_worker.drain() == 1
    [request] = receiver.requests
    payload = Webhook(hook["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "source.failed"
    assert payload["data"]["source_id"] == source["id"] and payload["data"]["status"] == "error"
    assert payload["data"]["error"]


def test_chat_message_is_delivered_without_the_content(api, tenant_a, receiver, webhook_worker, ingest_worker):
    hook = make_webhook(api, tenant_a, receiver.url, events=("chat.message",))
    bot = make_bot_profile(api, tenant_a)
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker)
    assert receiver.requests == [] and webhook_worker.drain() == 0  # not subscribed to source.ingested

    chat = api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": "When does the office open?"},
                    token=tenant_a.token)
    assert chat.status == 200, chat.body
    assert webhook_worker.drain() == 1
    [request] = receiver.requests
    payload = Webhook(hook["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "chat.message"
    assert payload["data"] == {"chat_id": chat.json["chat_id"], "message_id": chat.json["message_id"],
                               "bot_profile_id": bot["id"]}
    assert "office" not in request.body.decode()


def test_test_route_sends_a_ping_through_the_same_path(api, tenant_a, receiver, webhook_worker):
    hook = make_webhook(api, tenant_a, receiver.url)
    response = api.post(f"/v1/webhooks/{hook['id']}/test", token=tenant_a.token)
    assert response.status == 202, response.body
    assert receiver.requests == []  # asynchronous: queued, not sent by the API call

    assert webhook_worker.drain() == 1
    [request] = receiver.requests
    payload = Webhook(hook["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "ping" and request.headers["x-minirag-event"] == "ping"
    assert payload["data"]["webhook_id"] == hook["id"]
    assert response.json["event_id"] == request.headers["webhook-id"]


def test_inactive_or_unsubscribed_webhooks_receive_nothing(api, tenant_a, receiver, webhook_worker, ingest_worker):
    hook = make_webhook(api, tenant_a, receiver.url)
    assert api.patch(f"/v1/webhooks/{hook['id']}", {"is_active": False}, token=tenant_a.token).status == 200
    make_webhook(api, tenant_a, receiver.url, events=("chat.message",))
    bot = make_bot_profile(api, tenant_a)
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker)
    assert webhook_worker.drain() == 0 and receiver.requests == []


def test_a_failing_receiver_is_retried_logged_then_dead_lettered(api, tenant_a, receiver, webhook_worker):
    from minirag.queue.embedded import EmbeddedQueue
    from minirag.settings import get_settings

    # Given a receiver that answers 500
    receiver.status = 500
    hook = make_webhook(api, tenant_a, receiver.url)

    # When a ping is sent and the worker drains (retries at once in tests)
    assert api.post(f"/v1/webhooks/{hook['id']}/test", token=tenant_a.token).status == 202
    webhook_worker.drain()

    # Then every attempt reached the receiver and was logged, newest first, with the status code
    attempts = get_settings().webhook_max_receive_count
    assert len(receiver.requests) == attempts
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # same message id across retries
    logged = deliveries(api, tenant_a, hook["id"])
    assert [d["attempt"] for d in logged] == list(range(attempts, 0, -1))
    assert {(d["status_code"], d["success"]) for d in logged} == {(500, False)}
    assert all("500" in d["error"] for d in logged)

    # And the message ends in the webhook dead-letter queue (the ingest DLQ is untouched)
    dead = EmbeddedQueue("webhooks", "webhooks-dlq").dead_letters
    assert len(dead) == 1 and json.loads(dead[0].body)["webhook_id"] == hook["id"]
    assert EmbeddedQueue().dead_letters == []

    # And the log pages newest first
    first = api.get(f"/v1/webhooks/{hook['id']}/deliveries", token=tenant_a.token, query={"limit": 2})
    assert [d["attempt"] for d in first.json["data"]] == [attempts, attempts - 1]
    rest = deliveries(api, tenant_a, hook["id"], limit=100, cursor=first.json["next_cursor"])
    assert [d["attempt"] for d in rest] == list(range(attempts - 2, 0, -1))


def test_a_redirect_is_not_followed(api, tenant_a, receiver, webhook_worker):
    receiver.status = 307
    hook = make_webhook(api, tenant_a, receiver.url)
    api.post(f"/v1/webhooks/{hook['id']}/test", token=tenant_a.token)
    webhook_worker.run_once()
    assert len(receiver.requests) == 1
    [logged] = deliveries(api, tenant_a, hook["id"])
    assert logged["status_code"] == 307 and logged["success"] is False and "redirect" in logged["error"]


def test_a_target_whose_dns_turns_private_is_refused_at_delivery(api, tenant_a, webhook_worker, monkeypatch):
    # Given a webhook whose host resolved to a public address at creation
    answer = {"ip": "93.184.215.14"}
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer["ip"], port or 80))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    hook = make_webhook(api, tenant_a, "http://hooks.example.com/x")

    # When its DNS now answers a private address and a delivery is attempted
    answer["ip"] = "10.0.0.7"
    api.post(f"/v1/webhooks/{hook['id']}/test", token=tenant_a.token)
    webhook_worker.drain()

    # Then the delivery is refused before connecting, logged once, and not retried
    [logged] = deliveries(api, tenant_a, hook["id"])
    assert logged["success"] is False and logged["status_code"] is None
    assert "non-public address" in logged["error"]


def test_emitting_sends_nothing_inline(api, tenant_a, receiver, ingest_worker, local_webhooks):
    """Chat and ingest only queue the event: the HTTP call happens in the webhook function alone."""
    hook = make_webhook(api, tenant_a, receiver.url, events=("source.ingested", "chat.message"))
    bot = make_bot_profile(api, tenant_a)
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker)
    chat = api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": "office?"}, token=tenant_a.token)
    assert chat.status == 200, chat.body

    from minirag.queue.embedded import EmbeddedQueue

    assert receiver.requests == [] and deliveries(api, tenant_a, hook["id"]) == []
    assert len(EmbeddedQueue("webhooks", "webhooks-dlq")) == 2


def test_a_slow_receiver_times_out_and_is_retried(api, tenant_a, receiver, webhook_worker, monkeypatch):
    import time

    from minirag.settings import get_settings

    # Given a receiver slower than the delivery timeout
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "0.3")
    get_settings.cache_clear()
    receiver.delay = 1.5
    hook = make_webhook(api, tenant_a, receiver.url)
    api.post(f"/v1/webhooks/{hook['id']}/test", token=tenant_a.token)

    # When one attempt is made
    started = time.perf_counter()
    webhook_worker.run_once()

    # Then it gives up after the timeout, logs it without a status code, and the event waits for a retry
    assert time.perf_counter() - started < 1.2
    [logged] = deliveries(api, tenant_a, hook["id"])
    assert logged["status_code"] is None and logged["success"] is False and "timed out" in logged["error"]
    from minirag.queue.embedded import EmbeddedQueue

    assert len(EmbeddedQueue("webhooks", "webhooks-dlq")) == 1


def test_source_the_reconciler_fails_delivers_source_failed(api, tenant_a, receiver, webhook_worker, monkeypatch):
    # Given A's webhook for source.failed and a source whose ingest message is lost twice
    from minirag.local.events import LambdaContext, scheduled_event
    from minirag.local.template import load_handler
    from minirag.settings import get_settings
    from tests.integration.ingest.support import request_ingest, take_queued

    hook = make_webhook(api, tenant_a, receiver.url, events=("source.failed",))
    bot = make_bot_profile(api, tenant_a)
    source = make_source(api, tenant_a, bot["id"])
    request_ingest(api, tenant_a, source["id"])
    take_queued()
    monkeypatch.setenv("INGEST_STUCK_AFTER_SECONDS", "0")
    get_settings.cache_clear()
    reconcile = load_handler(api.template, api.template.functions["ReconcileFunction"])
    assert reconcile(scheduled_event(), LambdaContext(function_name="ReconcileFunction"))["requeued"] == [source["id"]]
    take_queued()
    assert webhook_worker.drain() == 0  # re-queued is not an outcome

    # When the scheduled reconciler finds it stuck again and fails it
    report = reconcile(scheduled_event(), LambdaContext(function_name="ReconcileFunction"))
    assert report["failed"] == [source["id"]]

    # Then the receiver gets a signed source.failed naming the reconciler's reason
    assert webhook_worker.drain() == 1
    [request] = receiver.requests
    payload = Webhook(hook["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "source.failed" and payload["data"]["source_id"] == source["id"]
    assert payload["data"]["status"] == "error" and "even after being re-queued" in payload["data"]["error"]
