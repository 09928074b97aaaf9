"""The stats function: usage, cost and feedback analytics (`minirag.api.routers.stats`)."""

from minirag.api.app import build_app
from minirag.api.handler import make_handler
from minirag.api.routers import stats

app = build_app(stats.router, title="stats")
handler = make_handler(app)
