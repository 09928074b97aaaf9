"""The api tokens function: HTTP API routes of `minirag.api.routers.api_tokens`."""

from minirag.api.app import build_app
from minirag.api.handler import make_handler
from minirag.api.routers import api_tokens

app = build_app(api_tokens.router, title="api_tokens")
handler = make_handler(app)
