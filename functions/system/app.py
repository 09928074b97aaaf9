"""The system function: HTTP API routes of `minirag.api.routers.system` (health) and the API's CORS
preflights (`minirag.api.cors`)."""

from minirag.api import cors
from minirag.api.app import build_app
from minirag.api.handler import make_handler
from minirag.api.routers import system

app = build_app(system.router, cors.router, title="system")
handler = make_handler(app)
