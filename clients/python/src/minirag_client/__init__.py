"""The MiniRAG Python SDK: `MiniRAG` (sync) and `AsyncMiniRAG` (async) over httpx, typed models,
lists that follow the API's cursors, `wait_until_ready`, streamed chat and uploads.

    from minirag_client import MiniRAG
    client = MiniRAG("http://127.0.0.1:8000", token="mrg_...")
    bot = client.bots.create("Support")
"""

from ._async.client import AsyncMiniRAG, AsyncPage
from ._sync.client import MiniRAG, Page
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IngestError,
    MiniRAGError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)
from .models import (
    AccessToken,
    ApiToken,
    Bootstrap,
    BotProfile,
    Chat,
    ChatAnswer,
    ChatEvent,
    Citation,
    CreatedApiToken,
    CreatedSource,
    Message,
    RetrievedChunk,
    Source,
    StatsOverview,
    Tenant,
    User,
    Webhook,
    WebhookDelivery,
    WebhookWithSecret,
)

__all__ = [
    "APIConnectionError", "APIStatusError", "AccessToken", "ApiToken", "AsyncMiniRAG", "AsyncPage",
    "AuthenticationError", "BadRequestError", "Bootstrap", "BotProfile", "Chat", "ChatAnswer", "ChatEvent",
    "Citation", "ConflictError", "CreatedApiToken", "CreatedSource", "IngestError", "Message", "MiniRAG",
    "MiniRAGError", "NotFoundError", "Page", "PayloadTooLargeError", "PermissionDeniedError", "RateLimitError",
    "RetrievedChunk", "ServerError", "Source", "StatsOverview", "Tenant", "UnprocessableEntityError", "User",
    "Webhook", "WebhookDelivery", "WebhookWithSecret", "__version__",
]
