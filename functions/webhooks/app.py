"""The webhooks function: HTTP API routes of `minirag.api.routers.webhooks`."""

from minirag.api.app import build_app
from minirag.api.handler import make_handler
from minirag.api.routers import webhooks

app = build_app(webhooks.router, title="webhooks")
handler = make_handler(app)
