# Generated from ../_async by clients/python/scripts/generate_sync.py (unasync): do not edit.
"""The MiniRAG client and its resources. `_async/client.py` is the source (AsyncMiniRAG);
`_sync/client.py` (MiniRAG) is generated from it by unasync (`make sdk`; a test fails when it is
stale): edit the async one only."""

from __future__ import annotations

import mimetypes
import os
import time
from pathlib import Path
from typing import IO, Any, Iterator, Callable, Generic, TypeVar

import httpx

from minirag_client._io import sync_sleep
from minirag_client._retry import RetryPolicy
from minirag_client._sse import SSEParser
from minirag_client._version import __version__
from minirag_client.errors import APIConnectionError, IngestError, MiniRAGError, error_from_response
from minirag_client.models import (
    AccessToken,
    ApiModel,
    ApiToken,
    Bootstrap,
    BotProfile,
    Chat,
    ChatAnswer,
    ChatEvent,
    CreatedApiToken,
    CreatedSource,
    Message,
    RetrievedChunk,
    Source,
    StatsOverview,
    User,
    Webhook,
    WebhookDelivery,
    WebhookWithSecret,
)

T = TypeVar("T", bound=ApiModel)
DEFAULT_URL = "http://127.0.0.1:8000"
UPLOAD_CHUNK_BYTES = 256 * 1024
ProgressCallback = Callable[[Source], None]
UploadProgress = Callable[[int, int], None]  # (bytes sent, total bytes)
RetrievedChunks = list[RetrievedChunk]  # (a resource's own `list` method shadows the builtin in its body)


def _body(**fields: Any) -> dict[str, Any]:
    """The request body without the arguments left out (None), so the server's defaults apply."""
    return {k: v for k, v in fields.items() if v is not None}


class Page(Generic[T]):
    """Every item of a list, page after page (the API puts the next page's cursor in the
    `X-Next-Cursor` header): iterate it (`for` / `async for`) for the items, `.pages()` for pages."""

    def __init__(self, client: MiniRAG, path: str, model: type[T], params: dict[str, Any]) -> None:
        self._client, self._path, self._model = client, path, model
        self._params = {k: v for k, v in params.items() if v is not None}

    def __iter__(self) -> Iterator[T]:
        return self._items()

    def _items(self) -> Iterator[T]:
        for page in self.pages():
            for item in page:
                yield item

    def pages(self) -> Iterator[list[T]]:
        params = dict(self._params)
        while True:
            response = self._client.request("GET", self._path, params=params)
            yield [self._model.model_validate(item) for item in response.json()]
            cursor = response.headers.get("x-next-cursor")
            if not cursor:
                return
            params["cursor"] = cursor

    def to_list(self) -> list[T]:
        return [item for item in self]


class MiniRAG:
    """A MiniRAG API client. `base_url` and `token` default to MINIRAG_URL and MINIRAG_TOKEN.
    Failed requests are retried with exponential back-off honouring Retry-After: 429 and 503
    always, other 5xx and connection errors only for idempotent methods (a POST may have acted)."""

    def __init__(self, base_url: str | None = None, token: str | None = None, *, timeout: float = 30.0,
                 max_retries: int = 3, backoff: float = 0.5, transport: httpx.BaseTransport | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.base_url = (base_url or os.environ.get("MINIRAG_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else os.environ.get("MINIRAG_TOKEN")
        self.retry = RetryPolicy(max_retries=max_retries, backoff=backoff)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                       headers={"user-agent": f"minirag-client/{__version__}", **(headers or {})})
        self.tenants = Tenants(self)
        self.auth = Auth(self)
        self.tokens = Tokens(self)
        self.bots = Bots(self)
        self.sources = Sources(self)
        self.chats = Chats(self)
        self.users = Users(self)
        self.webhooks = Webhooks(self)
        self.stats = Stats(self)

    def __enter__(self) -> MiniRAG:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      json: Any = None, files: Any = None, data: dict[str, Any] | None = None,
                      authenticated: bool = True) -> httpx.Response:
        """One API call, retried per `retry`; an error status raises its `APIStatusError`."""
        headers = self.auth_headers() if authenticated else {}
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, params=params, json=json, files=files, data=data,
                                                    headers=headers)
            except httpx.TransportError as exc:
                if not self.retry.retries_transport_error(method, attempt):
                    raise APIConnectionError(f"cannot reach {self.base_url}: {exc}") from exc
                attempt += 1
                sync_sleep(self.retry.delay(attempt, None))
                continue
            if response.is_success:
                return response
            if not self.retry.retries_status(method, response.status_code, attempt):
                raise error_from_response(response)
            attempt += 1
            sync_sleep(self.retry.delay(attempt, response.headers.get("retry-after")))

    def get_json(self, path: str, **params: Any) -> Any:
        return (self.request("GET", path, params={k: v for k, v in params.items() if v is not None})).json()


class _Resource:
    def __init__(self, client: MiniRAG) -> None:
        self._client = client


class Tenants(_Resource):
    def create(self, *, name: str, slug: str, owner_email: str, owner_password: str,
                     owner_display_name: str | None = None, invite_code: str | None = None) -> Bootstrap:
        """Sign up a tenant: its owner and a first API token (`api_token`, shown once)."""
        body = _body(tenant_name=name, tenant_slug=slug, owner_email=owner_email, owner_password=owner_password,
                     owner_display_name=owner_display_name, invite_code=invite_code)
        response = self._client.request("POST", "/v1/tenants", json=body, authenticated=False)
        return Bootstrap.model_validate(response.json())

    def me(self) -> dict[str, Any]:
        """The caller's tenant, user, limits and usage."""
        return dict(self._client.get_json("/v1/tenants/me"))


class Auth(_Resource):
    def login(self, email: str, password: str) -> AccessToken:
        """Email and password for a JWT (use it as the client's `token`)."""
        response = self._client.request("POST", "/v1/auth/login", json={"email": email, "password": password},
                                              authenticated=False)
        return AccessToken.model_validate(response.json())

    def me(self) -> dict[str, Any]:
        return dict(self._client.get_json("/v1/auth/me"))


class Tokens(_Resource):
    def create(self, name: str, *, scopes: list[str] | None = None, bot_profile_id: str | None = None,
                     allowed_origins: list[str] | None = None, expires_in_days: int | None = None) -> CreatedApiToken:
        """A new token (`raw_token` is shown once). With `bot_profile_id` (and `allowed_origins`) it is
        a publishable chat key for one bot."""
        body = _body(name=name, scopes=scopes, bot_profile_id=bot_profile_id, allowed_origins=allowed_origins,
                     expires_in_days=expires_in_days)
        return CreatedApiToken.model_validate((self._client.request("POST", "/v1/api-tokens", json=body)).json())

    def list(self, *, limit: int = 100) -> Page[ApiToken]:
        return Page(self._client, "/v1/api-tokens", ApiToken, {"limit": limit})

    def revoke(self, token_id: str) -> None:
        self._client.request("DELETE", f"/v1/api-tokens/{token_id}")


class Bots(_Resource):
    def create(self, name: str, **fields: Any) -> BotProfile:
        """A bot profile; `fields` as the API takes them (model, system_prompt, provider_api_key, ...)."""
        response = self._client.request("POST", "/v1/bot-profiles", json={"name": name, **_body(**fields)})
        return BotProfile.model_validate(response.json())

    def get(self, bot_id: str) -> BotProfile:
        return BotProfile.model_validate(self._client.get_json(f"/v1/bot-profiles/{bot_id}"))

    def list(self, *, include_inactive: bool = False, limit: int = 100) -> Page[BotProfile]:
        return Page(self._client, "/v1/bot-profiles", BotProfile,
                         {"limit": limit, "include_inactive": "true" if include_inactive else None})

    def update(self, bot_id: str, **fields: Any) -> BotProfile:
        """PATCH: only the fields given (None clears a clearable field)."""
        response = self._client.request("PATCH", f"/v1/bot-profiles/{bot_id}", json=fields)
        return BotProfile.model_validate(response.json())

    def delete(self, bot_id: str) -> None:
        """Deactivate (reversible: `update(bot_id, is_active=True)`)."""
        self._client.request("DELETE", f"/v1/bot-profiles/{bot_id}")


class Sources(_Resource):
    def create(self, bot_profile_id: str, name: str, source_type: str, **fields: Any) -> CreatedSource:
        body = {"bot_profile_id": bot_profile_id, "name": name, "source_type": source_type, **_body(**fields)}
        return CreatedSource.model_validate((self._client.request("POST", "/v1/sources", json=body)).json())

    def create_text(self, bot_profile_id: str, name: str, content: str, **fields: Any) -> CreatedSource:
        return self.create(bot_profile_id, name, "text", content=content, **fields)

    def create_url(self, bot_profile_id: str, name: str, url: str, **fields: Any) -> CreatedSource:
        return self.create(bot_profile_id, name, "url", url=url, **fields)

    def get(self, source_id: str) -> Source:
        return Source.model_validate(self._client.get_json(f"/v1/sources/{source_id}"))

    def list(self, *, bot_profile_id: str | None = None, status: str | None = None, include_inactive: bool = False,
             limit: int = 100) -> Page[Source]:
        return Page(self._client, "/v1/sources", Source, {
            "limit": limit, "bot_profile_id": bot_profile_id, "status": status,
            "include_inactive": "true" if include_inactive else None})

    def update(self, source_id: str, **fields: Any) -> Source:
        response = self._client.request("PATCH", f"/v1/sources/{source_id}", json=fields)
        return Source.model_validate(response.json())

    def delete(self, source_id: str) -> None:
        self._client.request("DELETE", f"/v1/sources/{source_id}")

    def ingest(self, source_id: str) -> Source:
        """Queue (re-)ingestion; `wait_until_ready` follows it."""
        return Source.model_validate((self._client.request("POST", f"/v1/sources/{source_id}/ingest")).json())

    def wait_until_ready(self, source_id: str, *, timeout: float = 600.0, poll_interval: float = 1.0,
                               on_progress: ProgressCallback | None = None) -> Source:
        """Poll until the source is `ready` (returned) or `error` (`IngestError`); `on_progress` gets
        the source each time its status or progress changes. `TimeoutError` after `timeout` s."""
        deadline = time.monotonic() + timeout
        seen: tuple[Any, ...] | None = None
        while True:
            source = self.get(source_id)
            state = (source.status, source.progress.documents_done, source.progress.documents_total,
                     source.progress.chunks)
            if on_progress is not None and state != seen:
                on_progress(source)
            seen = state
            if source.status == "ready":
                return source
            if source.status == "error":
                raise IngestError(source)
            if source.status == "pending":
                raise MiniRAGError(f"source {source_id} is not being ingested: call ingest() first")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"source {source_id} is still {source.status} after {timeout} s")
            sync_sleep(poll_interval)

    def upload(self, bot_profile_id: str, file: str | Path | IO[bytes], *, name: str | None = None,
                     filename: str | None = None, content_type: str | None = None, method: str = "presigned",
                     on_progress: UploadProgress | None = None, **fields: Any) -> Source:
        """An upload source from a path or a binary file object. `method="presigned"` (any size up to
        the server's limit) creates the source and PUTs the bytes to the presigned URL it answers;
        `"multipart"` sends the file in one `POST /v1/sources/upload` (small files only: API
        Gateway's payload limit). `on_progress(sent, total)` follows the bytes sent."""
        data, filename = _read(file, filename)
        content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        name = name or filename
        if method == "multipart":
            form = {"bot_profile_id": bot_profile_id, "name": name, **_body(**fields)}
            response = self._client.request("POST", "/v1/sources/upload", data=form,
                                                  files={"file": (filename, data, content_type)})
            if on_progress is not None:
                on_progress(len(data), len(data))
            return Source.model_validate(response.json())
        if method != "presigned":
            raise ValueError("method must be 'presigned' or 'multipart'")
        created = self.create(bot_profile_id, name, "upload", filename=filename, content_type=content_type,
                                    **fields)
        if created.upload is None:  # pragma: no cover - the API always answers one for uploads
            raise MiniRAGError("the API answered no upload URL")
        headers = {**created.upload.headers, "content-length": str(len(data))}
        put = self._client._http.request(created.upload.method, created.upload.url, headers=headers,
                                               content=_chunks(data, on_progress))
        if not put.is_success:
            raise error_from_response(put)
        return self.get(created.id)


def _chunks(data: bytes, on_progress: UploadProgress | None) -> Iterator[bytes]:
    for start in range(0, len(data), UPLOAD_CHUNK_BYTES):
        piece = data[start:start + UPLOAD_CHUNK_BYTES]
        yield piece
        if on_progress is not None:
            on_progress(start + len(piece), len(data))
    if not data and on_progress is not None:
        on_progress(0, 0)


def _read(file: str | Path | IO[bytes], filename: str | None) -> tuple[bytes, str]:
    if isinstance(file, (str, Path)):
        path = Path(file)
        return path.read_bytes(), filename or path.name
    data = file.read()
    return data, filename or Path(str(getattr(file, "name", "upload.bin"))).name


class Chats(_Resource):
    def send(self, bot_profile_id: str, message: str, *, chat_id: str | None = None,
                   top_k: int | None = None, filter: dict[str, Any] | None = None,
                   group_by: str | None = None) -> ChatAnswer:
        """Ask a bot; without `chat_id` a new chat starts. The answer cites `citations` as [n].
        `filter` (a metadata filter tree) and `group_by="document"` narrow what is retrieved."""
        body = _body(bot_profile_id=bot_profile_id, message=message, chat_id=chat_id, top_k=top_k, filter=filter,
                     group_by=group_by)
        return ChatAnswer.model_validate((self._client.request("POST", "/v1/chat", json=body)).json())

    def stream(self, bot_profile_id: str, message: str, *, chat_id: str | None = None,
                     top_k: int | None = None, filter: dict[str, Any] | None = None,
                     group_by: str | None = None) -> Iterator[ChatEvent]:
        """The answer as it is written: `start`, `token`... then `done` (with `answer`) or `error`."""
        body = _body(bot_profile_id=bot_profile_id, message=message, chat_id=chat_id, top_k=top_k, filter=filter,
                     group_by=group_by, stream=True)
        with self._client._http.stream("POST", "/v1/chat", json=body,
                                             headers=self._client.auth_headers()) as response:
            if not response.is_success:
                response.read()
                raise error_from_response(response)
            parser = SSEParser()
            for line in response.iter_lines():
                event = parser.feed(line)
                if event is not None:
                    kind, data = event
                    yield ChatEvent(type=kind, data=data,  # type: ignore[arg-type]
                                    answer=ChatAnswer.model_validate(data) if kind == "done" else None)

    def get(self, chat_id: str) -> Chat:
        return Chat.model_validate(self._client.get_json(f"/v1/chat/{chat_id}"))

    def list(self, *, bot_profile_id: str | None = None, limit: int = 100) -> Page[Chat]:
        return Page(self._client, "/v1/chat", Chat, {"limit": limit, "bot_profile_id": bot_profile_id})

    def messages(self, chat_id: str, *, limit: int = 100) -> Page[Message]:
        return Page(self._client, f"/v1/chat/{chat_id}/messages", Message, {"limit": limit})

    def feedback(self, chat_id: str, message_id: str, feedback: str | None,
                       comment: str | None = None) -> Message:
        body = {"feedback": feedback, **_body(comment=comment)}
        response = self._client.request("PATCH", f"/v1/chat/{chat_id}/messages/{message_id}/feedback",
                                              json=body)
        return Message.model_validate(response.json())

    def export(self, *, format: str = "json", start: str | None = None, end: str | None = None,
                     bot_profile_id: str | None = None, chat_id: str | None = None) -> bytes:
        """Chats as JSON, JSON Lines or CSV (the raw download)."""
        path = f"/v1/chat/{chat_id}/export" if chat_id else "/v1/chat/export"
        params = _body(format=format, bot_profile_id=bot_profile_id, **{"from": start, "to": end})
        return (self._client.request("GET", path, params=params)).content

    def retrieve(self, bot_profile_id: str, query: str, *, top_k: int | None = None, mode: str | None = None,
                       min_score: float | None = None, filter: dict[str, Any] | None = None,
                       group_by: str | None = None) -> RetrievedChunks:
        """Ranked chunks without a model call; `filter` is a metadata filter tree (README, Metadata
        filters), `group_by="document"` keeps each document's best chunk."""
        body = _body(bot_profile_id=bot_profile_id, query=query, top_k=top_k, mode=mode, min_score=min_score,
                     filter=filter, group_by=group_by)
        response = self._client.request("POST", "/v1/retrieve", json=body)
        return [RetrievedChunk.model_validate(item) for item in response.json()["data"]]


class Users(_Resource):
    def create(self, email: str, password: str, *, role: str = "member",
                     display_name: str | None = None) -> User:
        body = _body(email=email, password=password, role=role, display_name=display_name)
        return User.model_validate((self._client.request("POST", "/v1/users", json=body)).json())

    def get(self, user_id: str) -> User:
        return User.model_validate(self._client.get_json(f"/v1/users/{user_id}"))

    def list(self, *, include_inactive: bool = False, limit: int = 100) -> Page[User]:
        return Page(self._client, "/v1/users", User,
                         {"limit": limit, "include_inactive": "true" if include_inactive else None})

    def update(self, user_id: str, **fields: Any) -> User:
        return User.model_validate((self._client.request("PATCH", f"/v1/users/{user_id}", json=fields)).json())

    def delete(self, user_id: str) -> None:
        self._client.request("DELETE", f"/v1/users/{user_id}")


class Webhooks(_Resource):
    def create(self, url: str, events: list[str], *, description: str | None = None) -> WebhookWithSecret:
        """A webhook; its signing `secret` is shown once."""
        body = _body(url=url, events=events, description=description)
        return WebhookWithSecret.model_validate((self._client.request("POST", "/v1/webhooks", json=body)).json())

    def get(self, webhook_id: str) -> Webhook:
        return Webhook.model_validate(self._client.get_json(f"/v1/webhooks/{webhook_id}"))

    def list(self, *, limit: int = 100) -> Page[Webhook]:
        return Page(self._client, "/v1/webhooks", Webhook, {"limit": limit})

    def update(self, webhook_id: str, **fields: Any) -> Webhook:
        response = self._client.request("PATCH", f"/v1/webhooks/{webhook_id}", json=fields)
        return Webhook.model_validate(response.json())

    def delete(self, webhook_id: str) -> None:
        self._client.request("DELETE", f"/v1/webhooks/{webhook_id}")

    def test(self, webhook_id: str) -> dict[str, Any]:
        """Queue a signed `ping` to the webhook."""
        return dict((self._client.request("POST", f"/v1/webhooks/{webhook_id}/test")).json())

    def rotate_secret(self, webhook_id: str) -> WebhookWithSecret:
        response = self._client.request("POST", f"/v1/webhooks/{webhook_id}/rotate-secret")
        return WebhookWithSecret.model_validate(response.json())

    def deliveries(self, webhook_id: str, *, limit: int = 100) -> Page[WebhookDelivery]:
        return Page(self._client, f"/v1/webhooks/{webhook_id}/deliveries", WebhookDelivery, {"limit": limit})


class Stats(_Resource):
    """Usage, cost and feedback (UTC days): `days`, or `start`/`end` dates (YYYY-MM-DD)."""

    def overview(self) -> StatsOverview:
        return StatsOverview.model_validate(self._client.get_json("/v1/stats/overview"))

    def _window(self, path: str, days: int | None, start: str | None, end: str | None,
                      bot_profile_id: str | None) -> Any:
        return self._client.get_json(path, days=days, bot_profile_id=bot_profile_id, **{"from": start, "to": end})

    def usage(self, *, days: int | None = None, start: str | None = None, end: str | None = None,
                    bot_profile_id: str | None = None) -> list[dict[str, Any]]:
        return list(self._window("/v1/stats/usage", days, start, end, bot_profile_id))

    def by_model(self, *, days: int | None = None, start: str | None = None,
                       end: str | None = None) -> list[dict[str, Any]]:
        return list(self._window("/v1/stats/usage/by-model", days, start, end, None))

    def by_bot(self, *, days: int | None = None, start: str | None = None,
                     end: str | None = None) -> list[dict[str, Any]]:
        return list(self._window("/v1/stats/usage/by-bot", days, start, end, None))

    def cost_estimate(self, *, days: int = 30) -> dict[str, Any]:
        return dict(self._client.get_json("/v1/stats/cost-estimate", days=days))

    def feedback(self, *, days: int | None = None) -> dict[str, Any]:
        return dict(self._client.get_json("/v1/stats/feedback", days=days))
