"""What text and JSON the databases can store, checked the same way for SQLite and PostgreSQL.

PostgreSQL refuses a NUL (U+0000) in text and JSON, and neither driver can encode an unpaired
surrogate (U+D800-U+DFFF, which `json.loads` accepts from a `\\ud800` escape) to UTF-8. Left alone
they fail as a 500 after other work was done, on one database only. Client input is refused with
`unstorable_strings` (a 422 naming the field); text extracted from documents is repaired with
`storable_text` / `storable_json`. The walks are iterative: a 5,000-deep JSON value must not
overflow the stack of the code that checks it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

__all__ = ["MAX_METADATA_BYTES", "MAX_METADATA_DEPTH", "json_depth", "json_size", "storable_json", "storable_text",
           "unstorable_reason", "unstorable_strings"]

#: Bounds on a metadata object (a source's, a JSON Lines record's): deeper values fail to serialise
#: (pydantic stops at ~255 levels, recursion at ~1,000) and big ones bloat every listing.
MAX_METADATA_DEPTH = 10
MAX_METADATA_BYTES = 16_384

_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable_reason(text: str) -> str | None:
    """Why the databases cannot store `text`, or None."""
    if "\x00" in text:
        return "must not contain a NUL character (\\u0000)"
    if _SURROGATE.search(text):
        return "must not contain an unpaired UTF-16 surrogate (\\ud800-\\udfff); send valid Unicode"
    return None


def _printable(segment: str | int) -> str | int:
    """A path segment safe to echo in a JSON error (a bad key is shown escaped)."""
    if isinstance(segment, str) and unstorable_reason(segment):
        return segment.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace").replace("\x00", "\\x00")
    return segment


def _walk(value: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, string) for every string in a JSON value, keys included (a key's path ends at it)."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            yield path, item
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                if isinstance(key, str):
                    yield (*path, key), key
                stack.append(((*path, key), child))
        elif isinstance(item, (list, tuple)):
            stack.extend(((*path, i), child) for i, child in reversed(list(enumerate(item))))


def unstorable_strings(value: Any, *, limit: int = 10) -> list[tuple[tuple[str | int, ...], str]]:
    """(path, reason) of the first `limit` strings in `value` that cannot be stored (path segments
    are printable)."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    for path, text in _walk(value):
        reason = unstorable_reason(text)
        if reason:
            found.append((tuple(_printable(p) for p in path), reason))
            if len(found) >= limit:
                break
    return found


def storable_text(text: str) -> str:
    """Extracted text as the databases can store it: NULs dropped, unpaired surrogates replaced by U+FFFD."""
    if unstorable_reason(text) is None:
        return text
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def storable_json(value: Any) -> Any:
    """A copy of a JSON value with every string (keys too) made storable."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(k) if isinstance(k, str) else k: storable_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable_json(v) for v in value]
    return value


def json_depth(value: Any) -> int:
    """Nesting depth of a JSON value: a scalar is 0, `{}` or `[]` is 1, `{"a": {}}` is 2."""
    deepest = 0
    stack: list[tuple[int, Any]] = [(0, value)]
    while stack:
        depth, item = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((depth + 1, child) for child in children)
    return deepest


def json_size(value: Any) -> int:
    """Bytes of the value as compact UTF-8 JSON (check `json_depth` first: encoding recurses)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))
