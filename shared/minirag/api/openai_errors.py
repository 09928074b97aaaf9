"""Errors on the OpenAI-compatible routes, as OpenAI's clients read them: MiniRAG's envelope plus
OpenAI's `type` and `param` in the `error` object (the `openai` package raises `BadRequestError`,
`AuthenticationError`, ... from the status, and shows `error.message`), invalid requests as 400 as
OpenAI answers them, and MiniRAG's field names in OpenAI's words (`bot_profile_id` is `model`)."""

from __future__ import annotations

import copy
from typing import Any

OPENAI_PATH_PREFIX = "/v1/openai/"
_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
_PARAMS = {"bot_profile_id": "model", "chat_id": "metadata.chat_id"}


def is_openai_path(path: str) -> bool:
    return path.startswith(OPENAI_PATH_PREFIX)


def openai_status(status: int) -> int:
    """OpenAI answers an invalid request 400 where MiniRAG says 422."""
    return 400 if status == 422 else status


def _type(status: int) -> str:
    if status in _TYPES:
        return _TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def openai_error_body(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """`body` (MiniRAG's envelope) with OpenAI's `type` and `param` added to its `error`."""
    shaped = copy.deepcopy(body)
    error = shaped["error"]
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("field") in _PARAMS:
            detail["field"] = _PARAMS[detail["field"]]
    fields = [d.get("field") for d in error.get("details") or [] if isinstance(d, dict) and d.get("field")]
    error["type"] = _type(status)
    error["param"] = fields[0] if fields else None
    return shaped
