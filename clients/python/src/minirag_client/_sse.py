"""Server-Sent Events, line by line (the chat stream's `event:` / `data:` fields)."""

from __future__ import annotations

import json
from typing import Any


class SSEParser:
    """Feed lines; `feed` returns a finished (event, data) when a blank line ends one."""

    def __init__(self) -> None:
        self._event = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> tuple[str, dict[str, Any]] | None:
        if line == "":
            if not self._data:
                return None
            event, data = self._event, "\n".join(self._data)
            self._event, self._data = "message", []
            parsed = json.loads(data)
            return event, parsed if isinstance(parsed, dict) else {"value": parsed}
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None
