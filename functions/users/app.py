"""The users function: HTTP API routes of `minirag.api.routers.users` (team members and roles)."""

from minirag.api.app import build_app
from minirag.api.handler import make_handler
from minirag.api.routers import users

app = build_app(users.router, title="users")
handler = make_handler(app)
