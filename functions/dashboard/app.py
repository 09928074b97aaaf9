"""The dashboard function: the dashboard (`/dashboard`, a single page of ES modules) and the widget
script (`/widget/minirag-widget.js`), static files committed under `static/`. No build step, no CDN:
the chart library is vendored under `static/dashboard/vendor/` with its licence. Every page gets a
strict Content-Security-Policy (scripts, styles and API calls from this origin only)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from minirag.api.handler import make_handler
from minirag.errors import error_body

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".json": "application/json",
         ".txt": "text/plain; charset=utf-8", ".png": "image/png"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
COMMON = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}

app = FastAPI(title="MiniRAG dashboard", docs_url=None, redoc_url=None, openapi_url=None)


def _file(folder: str, relative: str) -> Path | None:
    """The file under static/<folder>/, never outside it (no `..`, no hidden files)."""
    root = (STATIC / folder).resolve()
    target = (root / relative).resolve()
    if root not in target.parents or any(part.startswith(".") for part in Path(relative).parts):
        return None
    return target if target.is_file() and target.suffix in TYPES else None


def _serve(path: Path, *, page: bool) -> Response:
    headers = dict(COMMON)
    headers["cache-control"] = "no-cache" if page else "public, max-age=300"
    if page:
        headers["content-security-policy"] = CSP
    return Response(path.read_bytes(), media_type=TYPES[path.suffix], headers=headers)


def _not_found(what: str) -> JSONResponse:
    return JSONResponse(error_body("not_found", f"{what} not found"), status_code=404, headers=COMMON)


@app.get("/dashboard", include_in_schema=False)
def dashboard() -> Response:
    return _serve(STATIC / "dashboard" / "index.html", page=True)


@app.get("/dashboard/{proxy:path}", include_in_schema=False)
def dashboard_asset(proxy: str) -> Response:
    """An asset by its path; any other path without a file extension is a page of the app."""
    found = _file("dashboard", proxy)
    if found is not None:
        return _serve(found, page=found.suffix == ".html")
    if "." not in Path(proxy).name:
        return _serve(STATIC / "dashboard" / "index.html", page=True)
    return _not_found("asset")


@app.get("/widget/{proxy:path}", include_in_schema=False)
def widget_asset(proxy: str) -> Response:
    """The widget's script (loaded by other sites' pages: cacheable, and no CSP of its own)."""
    found = _file("widget", proxy)
    return _serve(found, page=found.suffix == ".html") if found is not None else _not_found("asset")


handler = make_handler(app)
