"""A tenant's webhooks (create with the secret shown once, list, read, update, delete, rotate the
secret, send a test ping, read the delivery log) and the delivery of one queued event.

Signing (what a receiver verifies): the secret is `whsec_` + base64 of 32 random bytes, as Standard
Webhooks defines it. Every POST carries `webhook-id`, `webhook-timestamp` and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, made by the `standardwebhooks` library),
plus, as the seed system sends them, `X-MiniRAG-Event: <type>` and `X-MiniRAG-Signature:
sha256=<hex HMAC-SHA256 of the raw body>`, keyed with the same 32 decoded secret bytes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from minirag.db import webhook_rows
from minirag.db.models import Webhook, WebhookDelivery
from minirag.db.scope import PageResult, TenantScope
from minirag.errors import AppError, InvalidInput, PermanentIngestError, UpstreamUnavailable
from minirag.observability import logger
from minirag.queue.webhooks import WebhookMessage, WebhookPublisher
from minirag.services.webhook_events import EVENTS, PING, message_for
from minirag.settings import Settings

SECRET_PREFIX = "whsec_"
USER_AGENT = "MiniRAG-Webhooks/1.0"


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The signing key: the secret's base64 part, decoded (what Standard Webhooks signs with)."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def minirag_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret_key(secret), body, hashlib.sha256).hexdigest()


def _check_events(events: list[str]) -> list[str]:
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise InvalidInput("events", f"unknown event {unknown[0]!r}; one of {', '.join(EVENTS)}")
    return list(dict.fromkeys(events))


class WebhookAttemptFailed(AppError):
    """The receiver did not answer 2xx: the queue delivers the event again (then the DLQ)."""

    status_code = 502
    code = "webhook_delivery_failed"
    retryable = True


class WebhookService:
    def __init__(self, scope: TenantScope, settings: Settings, *, publisher: WebhookPublisher) -> None:
        self._scope = scope
        self._settings = settings
        self._publisher = publisher

    def _check_url(self, url: str) -> None:
        """The delivery's SSRF guard, now: a refused target is a 422 naming `url` (it is vetted
        again at every delivery, since DNS can change). Runs before any transaction opens (DNS)."""
        from minirag.documents.fetch import vet_url  # imports httpx: paid by webhook writes only

        try:
            vet_url(url, allow_private=self._settings.url_fetch_allow_private)
        except PermanentIngestError as exc:
            raise InvalidInput("url", exc.message) from None
        except UpstreamUnavailable:
            pass  # a temporary DNS failure: the delivery vets again

    def create(self, *, url: str, events: list[str], description: str | None,
               is_active: bool = True) -> tuple[Webhook, str]:
        from minirag.security.fernet import encrypt_secret

        events = _check_events(events)
        self._check_url(url)
        secret = generate_secret()
        with self._scope.write():
            webhook = self._scope.add(Webhook(id=uuid.uuid4(), url=url, events=events, description=description,
                                              secret_encrypted=encrypt_secret(secret), is_active=is_active))
        return webhook, secret

    def list(self, *, limit: int, cursor: str | None) -> PageResult[Webhook]:
        with self._scope.read():
            return self._scope.page(Webhook, limit=limit, cursor=cursor)

    def get(self, webhook_id: uuid.UUID) -> Webhook:
        with self._scope.read():
            return self._scope.get(Webhook, webhook_id)

    def update(self, webhook_id: uuid.UUID, changes: dict[str, Any]) -> Webhook:
        if "events" in changes:
            changes["events"] = _check_events(changes["events"])
        self.get(webhook_id)  # a foreign id is a 404 before the URL is looked at
        if "url" in changes:
            self._check_url(changes["url"])
        with self._scope.write():
            webhook = self._scope.get(Webhook, webhook_id, for_update=True)
            for name in ("url", "events", "description", "is_active"):
                if name in changes:
                    setattr(webhook, name, changes[name])
        return webhook

    def delete(self, webhook_id: uuid.UUID) -> None:
        with self._scope.write():
            self._scope.get(Webhook, webhook_id)
            webhook_rows.delete_webhook(self._scope, webhook_id)

    def rotate_secret(self, webhook_id: uuid.UUID) -> tuple[Webhook, str]:
        """A new secret at once (events queued before are signed with it when delivered)."""
        from minirag.security.fernet import encrypt_secret

        secret = generate_secret()
        with self._scope.write():
            webhook = self._scope.get(Webhook, webhook_id, for_update=True)
            webhook.secret_encrypted = encrypt_secret(secret)
        return webhook, secret

    def send_test(self, webhook_id: uuid.UUID) -> WebhookMessage:
        """A `ping` through the same queue and function as every event; returns it (its event id)."""
        webhook = self.get(webhook_id)
        message = message_for(self._scope.tenant_id, webhook.id, PING, {"webhook_id": str(webhook.id)})
        self._publisher.publish([message])
        return message

    def deliveries(self, webhook_id: uuid.UUID, *, limit: int, cursor: str | None) -> PageResult[WebhookDelivery]:
        with self._scope.read():
            self._scope.get(Webhook, webhook_id)
            return webhook_rows.deliveries(self._scope, webhook_id, limit=limit, cursor=cursor)


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    error: str | None
    retry: bool

    @property
    def success(self) -> bool:
        return self.error is None


class WebhookDeliveryService:
    """One attempt of one queued event: vet, sign, POST (short timeout, no redirects), log a row.
    Raises `WebhookAttemptFailed` when the queue should try again."""

    def __init__(self, scope: TenantScope, settings: Settings) -> None:
        self._scope = scope
        self._settings = settings

    def deliver(self, message: WebhookMessage, attempt: int) -> None:
        from minirag.security.fernet import decrypt_secret

        with self._scope.read():
            webhook = self._scope.find(Webhook, message.webhook_id)
        if webhook is None or (not webhook.is_active and message.type != PING):
            logger.info("webhook gone or inactive; event dropped", extra={"webhook_id": str(message.webhook_id)})
            return
        secret = decrypt_secret(webhook.secret_encrypted)
        body = json.dumps({"type": message.type, "timestamp": message.timestamp.isoformat().replace("+00:00", "Z"),
                           "data": message.data}, separators=(",", ":")).encode("utf-8")
        started = time.monotonic()
        result = self._post(webhook.url, body, self._headers(message, secret, body))
        duration_ms = int((time.monotonic() - started) * 1000)
        with self._scope.write():
            self._scope.add(WebhookDelivery(id=uuid.uuid4(), webhook_id=webhook.id, event_id=message.event_id,
                                            event=message.type, attempt=attempt, status_code=result.status_code,
                                            duration_ms=duration_ms, success=result.success, error=result.error))
        logger.info("webhook delivery attempt", extra={"webhook_id": str(webhook.id), "event": message.type,
                                                       "attempt": attempt, "status_code": result.status_code,
                                                       "success": result.success})
        if result.retry:
            raise WebhookAttemptFailed(result.error or "delivery failed")

    @staticmethod
    def _headers(message: WebhookMessage, secret: str, body: bytes) -> dict[str, str]:
        from datetime import datetime, timezone

        from standardwebhooks import Webhook as Signer  # only the webhook function ships it

        now = datetime.now(timezone.utc)
        return {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": message.event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Signer(secret).sign(message.event_id, now, body.decode("utf-8")),
            "x-minirag-event": message.type,
            "x-minirag-signature": minirag_signature(secret, body),
        }

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        from minirag.documents.fetch import post_pinned

        try:
            status = post_pinned(url, body, headers, timeout=self._settings.webhook_timeout_seconds,
                                 allow_private=self._settings.url_fetch_allow_private)
        except PermanentIngestError as exc:  # refused by the SSRF guard (or a bad certificate): not retried
            return Attempt(None, exc.message, retry=False)
        except UpstreamUnavailable as exc:
            return Attempt(None, exc.message, retry=True)
        if 200 <= status < 300:
            return Attempt(status, None, retry=False)
        if 300 <= status < 400:
            return Attempt(status, f"HTTP {status}: redirect not followed", retry=True)
        return Attempt(status, f"HTTP {status}", retry=True)
