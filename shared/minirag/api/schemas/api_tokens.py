from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from minirag.api.schemas.common import PublicModel, StrictModel

Scope = Literal["chat", "retrieve", "read", "write", "admin"]


def _check_origin(value: str) -> str:
    """An exact web origin (scheme://host[:port]), as browsers send it in the Origin header."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an origin is http(s)://host[:port], e.g. https://shop.example.com")
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("an origin has no user, path, query or fragment, e.g. https://shop.example.com")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port is not a number from 0 to 65535") from None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


Origin = Annotated[str, Field(max_length=300), AfterValidator(_check_origin)]


class ApiTokenCreate(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = None
    scopes: Annotated[list[Scope] | None, Field(
        min_length=1, max_length=5,
        description="What the token may do, within its user's role (never beyond it). Left out: what the "
                    "creating credential has (all the role allows for a login or an unscoped token; "
                    "chat and retrieve for a key bound to a bot).")] = None
    bot_profile_id: Annotated[uuid.UUID | None, Field(
        description="Bind the key to one bot: a publishable chat key, safe in a web page. It only chats and "
                    "retrieves with this bot (other bots are 404, every other route 403).")] = None
    allowed_origins: Annotated[list[Origin] | None, Field(
        min_length=1, max_length=20,
        description="Exact origins (https://shop.example.com) whose pages may use the key; a browser request "
                    "from any other is a 403 naming origin. Requests without an Origin header (servers, curl) "
                    "pass: this guards against other web pages, not against a copied key.")] = None


class ApiTokenPublic(PublicModel):
    """Never the raw token nor its hash: only the display prefix."""

    id: uuid.UUID
    name: str
    prefix: str
    user_id: uuid.UUID
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    scopes: list[str] | None = Field(default=None, description="null: everything its user's role allows")
    bot_profile_id: uuid.UUID | None = None
    allowed_origins: list[str] | None = None


class ApiTokenCreated(ApiTokenPublic):
    raw_token: str = Field(description="Shown once; store it now.")
