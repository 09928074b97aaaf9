"""The system function: HTTP API routes of `minirag.api.routers.system` (health)."""

from minirag.api.app import build_app
from minirag.api.handler import make_handler
from minirag.api.routers import system

app = build_app(system.router, title="system")
handler = make_handler(app)
