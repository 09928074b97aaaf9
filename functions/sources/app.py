"""The sources function: HTTP API routes of `minirag.api.routers.sources`."""

from minirag.api.app import build_app
from minirag.api.handler import make_handler
from minirag.api.routers import sources

app = build_app(sources.router, title="sources")
handler = make_handler(app)
