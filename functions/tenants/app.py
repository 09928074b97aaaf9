"""The tenants function: HTTP API routes of `minirag.api.routers.tenants`."""

from minirag.api.app import build_app
from minirag.api.handler import make_handler
from minirag.api.routers import tenants

app = build_app(tenants.router, title="tenants")
handler = make_handler(app)
