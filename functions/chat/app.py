"""The chat function: chat turns, chat history and retrieval (`minirag.api.routers.chat`)."""

from minirag.api.app import build_app
from minirag.api.handler import make_handler
from minirag.api.routers import chat

app = build_app(chat.router, title="chat")
handler = make_handler(app)
