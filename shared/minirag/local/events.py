"""Builders for the events Lambda receives, used by the local runner and by the tests alike:
API Gateway HTTP API payload v2, SQS batches, and a Lambda context object."""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import urlencode

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
_TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml",
               "application/javascript", "application/problem+json")


def _is_text(content_type: str | None) -> bool:
    return bool(content_type) and any(content_type.lower().startswith(t) for t in _TEXT_TYPES)


def http_api_event(
    method: str,
    path: str,
    *,
    route_key: str | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) request event."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    pairs = list(query.items()) if isinstance(query, dict) else list(query or [])
    raw_query = urlencode(pairs)
    query_parameters: dict[str, str] = {}
    for key, value in pairs:
        query_parameters[key] = f"{query_parameters[key]},{value}" if key in query_parameters else value
    now = datetime.now(timezone.utc)
    request_id = request_id or uuid.uuid4().hex[:16]
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key or f"{method} {path}",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": headers.get("user-agent", "")},
            "requestId": request_id,
            "routeKey": route_key or f"{method} {path}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query_parameters:
        event["queryStringParameters"] = query_parameters
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body is not None and body != b"":
        if isinstance(body, str):
            event["body"] = body
        elif _is_text(headers.get("content-type")):
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


@dataclass
class SqsRecordInput:
    body: str
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    receive_count: int = 1
    receipt_handle: str | None = None


def sqs_event(records: Iterable[SqsRecordInput], *, queue_name: str = "minirag-ingest") -> dict[str, Any]:
    """An SQS → Lambda event with the attributes the ingest handler reads."""
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue_name}"
    now_ms = str(int(time.time() * 1000))
    return {"Records": [
        {
            "messageId": r.message_id,
            "receiptHandle": r.receipt_handle or f"local-{r.message_id}-{r.receive_count}",
            "body": r.body,
            "attributes": {
                "ApproximateReceiveCount": str(r.receive_count),
                "SentTimestamp": now_ms,
                "SenderId": ACCOUNT_ID,
                "ApproximateFirstReceiveTimestamp": now_ms,
            },
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
            "awsRegion": REGION,
        }
        for r in records
    ]}


@dataclass
class LambdaContext:
    """The attributes Powertools and Mangum read from the real context object."""

    function_name: str = "minirag-local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 30.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/minirag-local"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


def response_body_bytes(response: dict[str, Any]) -> bytes:
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8")


def scheduled_event(rule_name: str = "minirag-schedule") -> dict[str, Any]:
    """The EventBridge "Scheduled Event" a Schedule-triggered function receives."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "000000000000", "time": now, "region": "us-east-1",
            "resources": [f"arn:aws:events:us-east-1:000000000000:rule/{rule_name}"], "detail": {}}
