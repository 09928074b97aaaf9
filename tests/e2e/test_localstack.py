"""The whole path on LocalStack: tenant → bot → upload source (presigned PUT into the real S3
bucket) → ingest through the real SQS queue → ready → a chat answer that cites the upload."""

from __future__ import annotations

import time

import httpx
import pytest

pytestmark = pytest.mark.e2e

HANDBOOK = b"""# Refunds

Refunds are paid within 14 days of the return reaching our warehouse.

# Opening hours

The support desk is open from 9am to 5pm, Monday to Friday.
"""


def _wait_for_status(client: httpx.Client, source_id: str, headers: dict[str, str], seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        source = client.get(f"/v1/sources/{source_id}", headers=headers).json()
        if source["status"] in ("ready", "error") or time.monotonic() > deadline:
            return source
        time.sleep(0.2)  # polling a real queue consumer; no timing is asserted


def test_upload_ingest_and_chat_through_localstack(stack):
    sqs, s3 = stack.client("sqs"), stack.client("s3")
    with httpx.Client(base_url=stack.api, timeout=60) as client:
        # Given a tenant with a bot
        created = client.post("/v1/tenants", json={
            "tenant_name": "E2E", "tenant_slug": f"e2e-{stack.bucket[-8:]}",
            "owner_email": f"owner@{stack.bucket[-8:]}.example.com", "owner_password": "correct horse battery staple"})
        assert created.status_code == 201, created.text
        auth = {"authorization": f"Bearer {created.json()['raw_token']}"}
        bot = client.post("/v1/bot-profiles", headers=auth,
                          json={"name": "Support", "system_prompt": "Answer from the sources."})
        assert bot.status_code == 201, bot.text
        bot_id = bot.json()["id"]

        # When an upload source is created, its file PUT to the presigned URL
        source = client.post("/v1/sources", headers=auth, json={
            "bot_profile_id": bot_id, "name": "Handbook", "source_type": "upload", "filename": "handbook.md"})
        assert source.status_code == 201, source.text
        source_id, upload = source.json()["id"], source.json()["upload"]
        assert upload["url"].startswith(f"{stack.url}/{stack.bucket}/"), upload["url"]
        put = httpx.put(upload["url"], content=HANDBOOK, headers=upload["headers"], timeout=30)
        assert put.status_code == 200, put.text
        # Then the file is in LocalStack's bucket
        objects = s3.list_objects_v2(Bucket=stack.bucket)["Contents"]
        assert [o["Size"] for o in objects] == [len(HANDBOOK)]

        # When it is ingested
        queued = client.post(f"/v1/sources/{source_id}/ingest", headers=auth)
        assert queued.status_code == 202, queued.text
        # Then the message waits in LocalStack's SQS queue until the worker takes it
        attributes = sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["ApproximateNumberOfMessages"])
        assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"
        stack.worker.start(poll_seconds=1)
        ready = _wait_for_status(client, source_id, auth)
        assert ready["status"] == "ready", ready
        assert ready["progress"]["chunks"] >= 1

        # When the bot is asked
        answer = client.post("/v1/chat", headers=auth,
                             json={"bot_profile_id": bot_id, "message": "How long do refunds take?"})

        # Then the answer cites the uploaded file
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["citations"], body
        assert {c["source_id"] for c in body["citations"]} == {source_id}
        assert "14 days" in body["answer"]

    # And the queue and its dead-letter queue are empty: the message was consumed and acknowledged
    for url in (stack.queue_url, stack.dlq_url):
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        assert counts == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}, url
