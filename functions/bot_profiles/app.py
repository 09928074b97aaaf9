"""The bot profiles function: HTTP API routes of `minirag.api.routers.bot_profiles`."""

from minirag.api.app import build_app
from minirag.api.handler import make_handler
from minirag.api.routers import bot_profiles

app = build_app(bot_profiles.router, title="bot_profiles")
handler = make_handler(app)
