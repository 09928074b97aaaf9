"""How the CLI speaks: readable tables (Rich) by default, JSON with --json for scripts, errors as
one line on stderr, and exit codes scripts can rely on."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Sequence

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from minirag_client.errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    IngestError,
    MiniRAGError,
    NotFoundError,
    PermissionDeniedError,
)

# Exit codes (documented in the README): 0 ok, 2 bad usage (Click), and:
EXIT_ERROR = 1  # the API refused the request (4xx other than below) or failed (5xx)
EXIT_AUTH = 3  # missing, invalid or insufficient credentials (401, 403)
EXIT_NOT_FOUND = 4  # no such object (404)
EXIT_INGEST = 5  # a source ended in `error`
EXIT_TIMEOUT = 6  # waiting for a source took longer than --timeout
EXIT_UNREACHABLE = 7  # the API could not be reached


def exit_code(error: BaseException) -> int:
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return EXIT_AUTH
    if isinstance(error, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, IngestError):
        return EXIT_INGEST
    if isinstance(error, TimeoutError):
        return EXIT_TIMEOUT
    if isinstance(error, APIConnectionError):
        return EXIT_UNREACHABLE
    return EXIT_ERROR


def one_line(error: BaseException) -> str:
    if isinstance(error, APIStatusError):
        fields = "; ".join(f"{field}: {reason}" for field, reason in error.fields.items())
        hint = f" ({fields})" if fields and fields not in error.message else ""
        request = f" [request {error.request_id}]" if error.request_id else ""
        return f"error: {error.message}{hint}{request}"
    if isinstance(error, MiniRAGError | TimeoutError):
        return f"error: {error}"
    return f"error: {type(error).__name__}: {error}"


def plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class Output:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.console = Console(soft_wrap=True)
        self.errors = Console(stderr=True, soft_wrap=True)

    def data(self, value: Any) -> None:
        """A whole result as JSON (--json)."""
        sys.stdout.write(json.dumps(plain(value), indent=2, default=str) + "\n")

    def table(self, rows: Iterable[Any], columns: Sequence[str], *, title: str | None = None) -> None:
        items = [plain(r) for r in rows]
        if self.as_json:
            self.data(items)
            return
        table = Table(title=title)
        for column in columns:
            table.add_column(column)
        for item in items:
            table.add_row(*[_cell(item.get(column)) for column in columns])
        self.console.print(table)

    def record(self, value: Any, fields: Sequence[str]) -> None:
        item = plain(value)
        if self.as_json:
            self.data(item)
            return
        table = Table(show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        for field in fields:
            table.add_row(field, _cell(item.get(field)))
        self.console.print(table)

    def say(self, text: str) -> None:
        if not self.as_json:
            self.console.print(text, highlight=False)

    def fail(self, error: BaseException) -> int:
        self.errors.print(one_line(error), highlight=False, markup=False)
        return exit_code(error)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)
