"""Paged list responses, as the seed system (and GitHub's API) shape them: the body is a plain JSON
array, and the next page's cursor travels in headers (`Link: <...>; rel="next"` per RFC 8288, and
`X-Next-Cursor`). Every list route uses `paged_response` and declares `responses=PAGED_RESPONSES`,
so the headers are documented in the OpenAPI once."""

from __future__ import annotations

from typing import Any, Sequence, TypeVar
from urllib.parse import urlencode

from fastapi import Request, Response

T = TypeVar("T")

NEXT_CURSOR_HEADER = "X-Next-Cursor"

PAGED_RESPONSES: dict[int | str, dict[str, Any]] = {200: {
    "description": "One page of items, newest first unless the route says otherwise",
    "headers": {
        "Link": {"description": 'The next page: `<path?...&cursor=...>; rel="next"`; absent on the last page',
                 "schema": {"type": "string"}},
        NEXT_CURSOR_HEADER: {"description": "The next page's `cursor` query parameter; absent on the last page",
                             "schema": {"type": "string"}},
    },
}}


def next_link(request: Request, cursor: str) -> str:
    """The request's own path and query with `cursor` replaced: a path reference (resolved against
    the request URL), so no client-sent Host header ever ends up in it."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"] + [("cursor", cursor)]
    return f'<{request.url.path}?{urlencode(query)}>; rel="next"'


def paged_response(request: Request, response: Response, items: Sequence[T], next_cursor: str | None) -> list[T]:
    """The page's items as the body; the next cursor (when there is one) as headers on `response`."""
    if next_cursor:
        response.headers["Link"] = next_link(request, next_cursor)
        response.headers[NEXT_CURSOR_HEADER] = next_cursor
    return list(items)
