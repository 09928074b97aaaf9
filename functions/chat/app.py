"""The chat function: chat turns, chat history and retrieval (`minirag.api.routers.chat`), and the
OpenAI-compatible endpoint on the same turns (`minirag.api.routers.openai_compat`)."""

from minirag.api.app import build_app
from minirag.api.handler import make_handler
from minirag.api.routers import chat, openai_compat

app = build_app(chat.router, openai_compat.router, title="chat")
handler = make_handler(app)
