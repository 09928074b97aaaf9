"""CORS for the embeddable widget: browsers on other sites may call the API only with a publishable
key (bound to one bot) whose `allowed_origins` lists their page's origin.

- A preflight (`OPTIONS /v1/...`, routed in template.yaml: the HttpApi has no CorsConfiguration, so
  API Gateway passes it on) carries no credential: it is answered with the request's origin when some
  live publishable key lists that origin, otherwise without `Access-Control-Allow-Origin`.
- A request itself gets `Access-Control-Allow-Origin: <its origin>` only when the key it presents
  lists that origin (`minirag.api.deps._check_origin` marks it); every other answer has none, so the
  browser withholds it from the page. Never `*`, never credentials (the key is a header, not a cookie).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from minirag.api.deps import SessionDep
from minirag.db.system import SystemRepository

ALLOW_METHODS = "GET, POST, PATCH, DELETE"
ALLOW_HEADERS = "authorization, content-type"
EXPOSE_HEADERS = "x-request-id"
PREFLIGHT_MAX_AGE = "600"

router = APIRouter(tags=["system"])


def normalized_origin(value: str | None) -> str | None:
    if not value:
        return None
    origin = value.strip().lower().rstrip("/")
    return origin if origin.startswith(("http://", "https://")) else None


@router.options("/v1/{proxy:path}", include_in_schema=False)
def preflight(request: Request, session: SessionDep) -> Response:
    headers = {"vary": "Origin"}
    origin = normalized_origin(request.headers.get("origin"))
    if origin is not None:
        system = SystemRepository(session)
        with system.read():
            allowed = system.origin_has_a_key(origin, system.now())
        if allowed:
            headers.update({
                "access-control-allow-origin": request.headers["origin"].strip(),
                "access-control-allow-methods": ALLOW_METHODS,
                "access-control-allow-headers": ALLOW_HEADERS,
                "access-control-max-age": PREFLIGHT_MAX_AGE,
            })
    return Response(status_code=204, headers=headers)


class CorsMiddleware:
    """Adds the CORS answer to a response whose request presented a key allowed for its origin."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"vary"]
                headers.append((b"vary", b"Origin"))
                origin = (scope.get("state") or {}).get("cors_origin")
                if origin:
                    headers.append((b"access-control-allow-origin", str(origin).encode("latin-1")))
                    headers.append((b"access-control-expose-headers", EXPOSE_HEADERS.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)
