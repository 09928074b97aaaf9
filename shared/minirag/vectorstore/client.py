"""One Qdrant client per process: a server by QDRANT_URL, else local mode at QDRANT_PATH (default
`<data_dir>/qdrant`; `:memory:` for tests). Local mode is not thread-safe and locks its folder, so
the process shares one client and `vector_lock()` serialises calls to it."""

from __future__ import annotations

import threading
import warnings
from contextlib import nullcontext
from functools import lru_cache
from typing import Any, ContextManager

from minirag.settings import get_settings

_local_lock = threading.RLock()
# Local mode ignores payload indexes (it scans); the same calls matter on a server, so keep them quiet.
warnings.filterwarnings("ignore", message=".*[Pp]ayload index.*")


def get_client() -> Any:
    # Built under the lock: two threads making the first call at once (the local runner's API and
    # ingest worker) would otherwise build two clients, and a second local-mode client either
    # fails on the folder lock or, in memory, silently keeps its own points.
    with _local_lock:
        return _build_client()


@lru_cache(maxsize=1)
def _build_client() -> Any:
    from qdrant_client import QdrantClient

    settings = get_settings()
    if settings.qdrant_url:
        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return QdrantClient(url=settings.qdrant_url, api_key=api_key, timeout=10)
    path = settings.resolved_qdrant_path
    if path == ":memory:":
        return QdrantClient(location=":memory:")
    return QdrantClient(path=path)


def is_local_mode() -> bool:
    return not get_settings().qdrant_url


def vector_lock() -> ContextManager[Any]:
    return _local_lock if is_local_mode() else nullcontext()


def reset_client() -> None:
    """Close and forget the qdrant-client client (tests, benches; `indexes.reset_stores` resets both
    backends)."""
    with _local_lock:
        if _build_client.cache_info().currsize:
            try:
                _build_client().close()
            except Exception:  # closing a local client twice or a dead server connection is harmless
                pass
        _build_client.cache_clear()
