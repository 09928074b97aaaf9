"""The local API Gateway: an ASGI app that routes by `template.yaml` and invokes the real handlers.

Each request becomes an HTTP API v2 event (same builder as the tests) and is passed with a Lambda
context to the function's `handler`; its response dict becomes the HTTP response. The runner also
serves the merged OpenAPI document (`/openapi.json`, and `/docs` (Swagger UI) and `/redoc` with
their scripts served from the `fastapi-offline` package: no CDN, so they render offline), the local
upload endpoint that stands in for S3 presigned PUTs, and `/healthz`.
"""

from __future__ import annotations

import json
import uuid
from functools import partial
from typing import Any, Callable
from urllib.parse import parse_qsl

from anyio import to_thread
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from minirag import __version__
from minirag.errors import error_body
from minirag.local.invoke import Invocation, invoke_route, route_event
from minirag.local.template import Template, load_all_apps, load_all_handlers
from minirag.settings import Settings

LOCAL_PATHS = ("/openapi.json", "/docs", "/redoc", "/healthz", "/_local/uploads/")
DOCS_ASSETS = "/docs/assets"  # Swagger UI's and ReDoc's scripts, styles and icon, from fastapi-offline


def merged_openapi(template: Template, apps: dict[str, Any]) -> dict[str, Any]:
    """One OpenAPI document for the whole API, merged from each function's FastAPI app, keeping only
    the operations the template routes to that function (so docs and deployment agree)."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "MiniRAG API", "version": __version__,
                 "description": "Multi-tenant RAG platform. Authenticate with `Authorization: Bearer <token>`."},
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
    for route in template.routes:
        app = apps.get(route.function.logical_id)
        if app is None:
            continue
        spec = app.openapi()
        operation = spec.get("paths", {}).get(route.path, {}).get(route.method.lower())
        if operation is None:
            continue
        document["paths"].setdefault(route.path, {})[route.method.lower()] = operation
        document["components"]["schemas"].update(spec.get("components", {}).get("schemas", {}))
    return document


def _to_response(result: Invocation) -> Response:
    response = Response(content=result.body, status_code=result.status, headers=result.headers)
    for key, values in result.multi_value_headers.items():
        for value in values:
            response.headers.append(key, value)
    for cookie in result.cookies:
        response.headers.append("set-cookie", cookie)
    return response


def _error(status: int, code: str, message: str) -> JSONResponse:
    """The runner's own answers (as API Gateway's would be), in the envelope the functions write."""
    return JSONResponse(error_body(code, message), status_code=status, headers={"x-request-id": uuid.uuid4().hex})


class _BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body exceeds {limit} bytes")
        self.limit = limit


def _too_large(exc: _BodyTooLarge) -> JSONResponse:
    return _error(413, "payload_too_large", str(exc))


async def read_body(headers: Any, receive: Callable[..., Any], limit: int) -> bytes | None:
    """The request body, read as it streams and refused (`_BodyTooLarge`) as soon as it passes
    `limit` (or declares a content-length past it), without reading the rest: API Gateway never
    hands a function more. None when the client went away first."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge(limit)
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        body.extend(message.get("body", b""))
        if len(body) > limit:
            raise _BodyTooLarge(limit)
        if not message.get("more_body"):
            return bytes(body)


def _cors_config(template: Template) -> dict[str, Any]:
    """The HttpApi's CorsConfiguration from the template (what API Gateway applies)."""
    parameters = template.raw.get("Parameters") or {}

    def resolve(value: Any) -> Any:
        """`!Ref Parameter` → the parameter's default (lists split), as a deploy without overrides."""
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
            spec = parameters[value["Ref"]]
            default = spec.get("Default", "")
            if "List" in str(spec.get("Type", "")) and isinstance(default, str):
                return [item.strip() for item in default.split(",") if item.strip()]
            return default
        return value

    for resource in (template.raw.get("Resources") or {}).values():
        if resource.get("Type") == "AWS::Serverless::HttpApi":
            config = (resource.get("Properties") or {}).get("CorsConfiguration") or {}
            return {key: resolve(value) for key, value in config.items()}
    return {}


def _preflight(cors: dict[str, Any], request: Request) -> Response:
    origins = [str(o) for o in cors.get("AllowOrigins") or []]
    origin = request.headers.get("origin", "")
    allow_origin = "*" if "*" in origins else (origin if origin in origins else "")
    headers = {
        "access-control-allow-methods": ",".join(str(m) for m in cors.get("AllowMethods") or []),
        "access-control-allow-headers": ",".join(str(h) for h in cors.get("AllowHeaders") or []),
    }
    if allow_origin:
        headers["access-control-allow-origin"] = allow_origin
    if cors.get("MaxAge") is not None:
        headers["access-control-max-age"] = str(cors["MaxAge"])
    return Response(status_code=204, headers=headers)


def build_local_app(template: Template, settings: Settings) -> Starlette:
    handlers = load_all_handlers(template)  # a template route without a handler fails here, at start-up
    apps = load_all_apps(template)  # each function's ASGI app: OpenAPI, and streaming (below)
    openapi_document = merged_openapi(template, apps)

    async def openapi(_: Request) -> JSONResponse:
        return JSONResponse(openapi_document)

    async def docs(_: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="MiniRAG API",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png")

    async def redoc(_: Request) -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="MiniRAG API",
                              redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
                              redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png", with_google_fonts=False)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "routes": len(template.routes)})

    async def local_upload(request: Request) -> Response:
        from minirag.storage.uploads import LocalUploadStorage, get_storage

        storage = get_storage()
        if not isinstance(storage, LocalUploadStorage):
            return _error(404, "not_found", "local uploads are disabled (STORAGE_BACKEND is not local)")
        try:
            key, max_bytes = storage.verify_token(request.path_params["token"])
        except (ValueError, KeyError):
            return _error(403, "forbidden", "invalid or expired upload URL")
        data = bytearray()
        async for piece in request.stream():
            data.extend(piece)
            if len(data) > max_bytes:
                return _error(413, "payload_too_large", f"file exceeds {max_bytes} bytes")
        await to_thread.run_sync(storage.write, key, bytes(data))
        return Response(status_code=200)

    cors = _cors_config(template)

    async def invoke(request: Request) -> Response:
        path = request.url.path
        method = request.method
        if method == "OPTIONS" and cors and template.path_exists(path):
            return _preflight(cors, request)  # API Gateway answers CORS preflights itself
        matched = template.match(method, path)
        if matched is None:
            if template.path_exists(path):
                return _error(405, "method_not_allowed", f"{method} is not allowed on {path}")
            return _error(404, "not_found", "route not found")
        route, path_parameters = matched
        try:
            body = await read_body(request.headers, request.receive, settings.max_body_bytes_for(path))
        except _BodyTooLarge as exc:
            return _too_large(exc)
        if body is None:
            return Response(status_code=400)  # the client is gone; nobody reads this
        call = partial(invoke_route, template, route, path_parameters, method, path,
                       query=list(request.query_params.multi_items()), headers=dict(request.headers.items()),
                       body=body, source_ip=request.client.host if request.client else "127.0.0.1")
        return _to_response(await to_thread.run_sync(call))

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    app = Starlette(routes=[
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Route("/redoc", redoc, methods=["GET"]),
        Mount(DOCS_ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets"),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/_local/uploads/{token}", local_upload, methods=["PUT"]),
        Route("/{path:path}", invoke, methods=methods),
    ])
    app.state.handlers = handlers
    app.state.apps = apps
    app.state.template = template
    app.state.openapi = openapi_document
    streaming = streaming_functions(template)
    if streaming:  # see "Response streaming" below
        app.add_middleware(ResponseStreamingPassthrough, template=template, apps=apps, functions=streaming,
                           max_body_bytes=settings.max_request_bytes)
    return app


# -- Response streaming -----------------------------------------------------------------------------
# API Gateway HTTP APIs buffer a Lambda's whole response, and so does invoking the handler (Mangum)
# above. A function marked `Metadata: {ResponseStreaming: true}` in template.yaml is deployable
# behind a Function URL with InvokeMode RESPONSE_STREAM and Lambda Web Adapter, which serves the
# function's ASGI app as plain HTTP and passes each chunk on as it is written. The runner does the
# same for such a function's `"stream": true` requests and its GET `.../export` downloads (chat
# export); every other request keeps the buffered path. The scope says so to the function
# (`minirag.response_streaming`), which then streams instead of enforcing EXPORT_MAX_BYTES.

STREAMING_FLAG = "ResponseStreaming"
STREAMING_SCOPE_KEY = "minirag.response_streaming"  # the same literal as minirag.api.routers.chat's


def streaming_functions(template: Template) -> frozenset[str]:
    """Logical ids of the functions whose template Metadata sets `ResponseStreaming: true`."""
    resources = template.raw.get("Resources") or {}
    return frozenset(
        logical_id for logical_id in template.functions
        if ((resources.get(logical_id) or {}).get("Metadata") or {}).get(STREAMING_FLAG) is True
    )


def _asks_for_stream(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # nested too deep: the function answers it as any bad body
        return False
    return isinstance(data, dict) and data.get("stream") is True


class ResponseStreamingPassthrough:
    """ASGI middleware: a `"stream": true` POST routed to a streaming function goes straight to that
    function's ASGI app (as Lambda Web Adapter would send it), so its chunks reach the client as
    they are produced. The scope carries the same API Gateway event the handler path builds, so the
    request id and logging behave alike."""

    def __init__(self, app: Any, *, template: Template, apps: dict[str, Any], functions: frozenset[str],
                 max_body_bytes: int) -> None:
        self.app = app
        self.template = template
        self.apps = apps
        self.functions = functions
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        export = scope["type"] == "http" and scope["method"] == "GET" and scope["path"].endswith("/export")
        matched = self.template.match(scope["method"], scope["path"]) if (
            scope["type"] == "http" and (scope["method"] == "POST" or export)) else None
        if matched is None or matched[0].function.logical_id not in self.functions:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}
        try:
            body = await read_body(headers, receive, self.max_body_bytes)
        except _BodyTooLarge as exc:
            await _too_large(exc)(scope, receive, send)
            return
        if body is None:
            return  # the client went away before sending its body
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # http.disconnect, when the client goes away

        route, path_parameters = matched
        function_app = self.apps.get(route.function.logical_id)
        if function_app is None or not (export or _asks_for_stream(body)):
            await self.app(scope, replay, send)
            return
        client = scope.get("client")
        event, context = route_event(
            route, path_parameters, scope["method"], scope["path"],
            query=parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True),
            headers=headers, body=body, source_ip=client[0] if client else "127.0.0.1",
        )
        await function_app({**scope, "root_path": "", "aws.event": event, "aws.context": context,
                            STREAMING_SCOPE_KEY: True}, replay, send)
