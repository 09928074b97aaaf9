"""Webhooks: where a tenant's events are POSTed, signed per Standard Webhooks (see
`minirag.services.webhooks` for the headers and the exact signing key)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from minirag.api.deps import PageDep, ScopeDep, SettingsDep
from minirag.api.schemas.common import Page
from minirag.api.schemas.webhooks import (
    WebhookCreate,
    WebhookDeliveryPublic,
    WebhookPublic,
    WebhookTestQueued,
    WebhookUpdate,
    WebhookWithSecret,
)
from minirag.queue.webhooks import get_webhook_publisher
from minirag.services.webhooks import WebhookService

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def get_webhook_service(scope: ScopeDep, settings: SettingsDep) -> WebhookService:
    return WebhookService(scope, settings, publisher=get_webhook_publisher())


WebhookServiceDep = Annotated[WebhookService, Depends(get_webhook_service)]


def _with_secret(webhook, secret: str) -> WebhookWithSecret:
    return WebhookWithSecret.model_validate({**WebhookPublic.model_validate(webhook).model_dump(), "secret": secret})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookWithSecret,
             summary="Create a webhook",
             description="Subscribes `url` to `events`. The answer carries the signing `secret` once: store it.")
def create_webhook(body: WebhookCreate, service: WebhookServiceDep) -> WebhookWithSecret:
    webhook, secret = service.create(url=body.url, events=body.events, description=body.description,
                                     is_active=body.is_active)
    return _with_secret(webhook, secret)


@router.get("", response_model=Page[WebhookPublic], summary="List webhooks", description="Newest first, paginated.")
def list_webhooks(service: WebhookServiceDep, page: PageDep) -> Page[WebhookPublic]:
    result = service.list(limit=page.limit, cursor=page.cursor)
    return Page[WebhookPublic](data=[WebhookPublic.model_validate(w) for w in result.items],
                               next_cursor=result.next_cursor)


@router.get("/{id}", response_model=WebhookPublic, summary="Get a webhook", description="Never shows the secret.")
def get_webhook(id: uuid.UUID, service: WebhookServiceDep) -> WebhookPublic:
    return WebhookPublic.model_validate(service.get(id))


@router.patch("/{id}", response_model=WebhookPublic, summary="Update a webhook",
              description="url, events, description, is_active (false pauses deliveries; true resumes).")
def update_webhook(id: uuid.UUID, body: WebhookUpdate, service: WebhookServiceDep) -> WebhookPublic:
    return WebhookPublic.model_validate(service.update(id, body.model_dump(exclude_unset=True)))


@router.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               summary="Delete a webhook", description="With its delivery log; queued events for it are dropped.")
def delete_webhook(id: uuid.UUID, service: WebhookServiceDep) -> Response:
    service.delete(id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{id}/rotate-secret", response_model=WebhookWithSecret, summary="Rotate the signing secret",
             description="A new secret, shown once; deliveries from now on are signed with it.")
def rotate_webhook_secret(id: uuid.UUID, service: WebhookServiceDep) -> WebhookWithSecret:
    webhook, secret = service.rotate_secret(id)
    return _with_secret(webhook, secret)


@router.post("/{id}/test", status_code=status.HTTP_202_ACCEPTED, response_model=WebhookTestQueued,
             summary="Send a test event",
             description="Queues a `ping` event, delivered (signed, retried, logged) like every other event.")
def test_webhook(id: uuid.UUID, service: WebhookServiceDep) -> WebhookTestQueued:
    return WebhookTestQueued(event_id=service.send_test(id).event_id)


@router.get("/{id}/deliveries", response_model=Page[WebhookDeliveryPublic], summary="The delivery log",
            description="One row per attempt (event, attempt, status code, duration, error), newest first.")
def list_webhook_deliveries(id: uuid.UUID, service: WebhookServiceDep, page: PageDep) -> Page[WebhookDeliveryPublic]:
    result = service.deliveries(id, limit=page.limit, cursor=page.cursor)
    return Page[WebhookDeliveryPublic](data=[WebhookDeliveryPublic.model_validate(d) for d in result.items],
                                       next_cursor=result.next_cursor)
