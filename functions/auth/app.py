"""The auth function: HTTP API routes of `minirag.api.routers.auth`."""

from minirag.api.app import build_app
from minirag.api.handler import make_handler
from minirag.api.routers import auth

app = build_app(auth.router, title="auth")
handler = make_handler(app)
