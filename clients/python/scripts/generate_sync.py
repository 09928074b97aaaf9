"""Generate the synchronous client (`_sync/`) from the asynchronous one (`_async/`) with unasync.
Run by `make sdk`; tests/clients/test_sdk_generated.py fails when `_sync/` is stale."""

from __future__ import annotations

import sys
from pathlib import Path

import unasync

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "minirag_client"
REPLACEMENTS = {
    "AsyncMiniRAG": "MiniRAG", "AsyncPage": "Page", "AsyncClient": "Client",
    "AsyncBaseTransport": "BaseTransport", "async_sleep": "sync_sleep",
    "aclose": "close", "aread": "read", "aiter_lines": "iter_lines",
    "AsyncTenants": "Tenants", "AsyncAuth": "Auth", "AsyncTokens": "Tokens", "AsyncBots": "Bots",
    "AsyncSources": "Sources", "AsyncChats": "Chats", "AsyncUsers": "Users", "AsyncWebhooks": "Webhooks",
    "AsyncStats": "Stats",
}


HEADER = "# Generated from ../_async by clients/python/scripts/generate_sync.py (unasync): do not edit.\n"


def generate(package: Path = PACKAGE) -> list[Path]:
    sources = sorted((package / "_async").glob("*.py"))
    rule = unasync.Rule(fromdir="/_async/", todir="/_sync/", additional_replacements=REPLACEMENTS)
    unasync.unasync_files([str(p) for p in sources], [rule])
    generated = [package / "_sync" / p.name for p in sources]
    for path in generated:
        path.write_text(HEADER + path.read_text())
    return generated


if __name__ == "__main__":
    for path in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else PACKAGE):
        print(f"generated {path}")
