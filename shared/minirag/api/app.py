"""Builds the FastAPI app of one function from its routers. Nothing heavy happens here: engines,
clients and settings are created lazily on first use, so cold starts stay short."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from minirag import __version__
from minirag.api.cors import CorsMiddleware
from minirag.api.errors import install_error_handlers
from minirag.api.middleware import RequestContextMiddleware
from minirag.api.openapi_errors import install_error_schema


def _operation_id(route: APIRoute) -> str:
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def build_app(*routers: APIRouter, title: str) -> FastAPI:
    app = FastAPI(
        title=f"MiniRAG {title}",
        version=__version__,
        generate_unique_id_function=_operation_id,
        docs_url=None,
        redoc_url=None,
    )
    for router in routers:
        app.include_router(router)
    install_error_handlers(app)
    install_error_schema(app)
    app.add_middleware(CorsMiddleware)  # inside the request context: every answer, errors too
    app.add_middleware(RequestContextMiddleware)  # reads MAX_REQUEST_BYTES per request, not at import
    return app
