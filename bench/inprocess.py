"""Drive the real Lambda handlers in-process, routed by template.yaml, for hand-run benchmarks.

Call `configure_environment()` before importing anything else from minirag: it points settings at a
throw-away data directory (SQLite, Qdrant in memory unless told otherwise) with generated secrets."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def configure_environment(**overrides: str) -> Path:
    from minirag.local.invoke import sandbox_environment

    data_dir = Path(tempfile.mkdtemp(prefix="minirag-bench-"))
    sandbox_environment(os.environ, data_dir, **overrides)
    from minirag.db.migrate import upgrade
    from minirag.settings import get_settings

    get_settings.cache_clear()
    upgrade(get_settings().resolved_database_url)
    return data_dir


class InProcessApi:
    """The same in-process invoker as the local runner and the tests (`minirag.local.invoke`)."""

    def __init__(self) -> None:
        from minirag.local.template import load_template

        self.template = load_template(str(ROOT / "template.yaml"))

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        from minirag.local.invoke import invoke

        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        payload = json.dumps(body) if body is not None else None
        result = invoke(self.template, method, path, headers=headers, body=payload)
        raw = result.body
        return result.status, (json.loads(raw) if raw and raw[:1] in b"{[" else raw)

    def ok(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        status, data = self.call(method, path, body, token)
        if status >= 300:
            raise RuntimeError(f"{method} {path} -> {status}: {data}")
        return data

    def bootstrap(self, slug: str = "bench") -> str:
        data = self.ok("POST", "/v1/tenants", {"tenant_name": slug, "tenant_slug": slug,
                                               "owner_email": f"owner@{slug}.example.com",
                                               "owner_password": "bench-password-123"})
        return data["raw_token"]

    def upload(self, token: str, bot_id: str, filename: str, data: bytes, name: str = "corpus") -> str:
        """Create an upload source and PUT the file through the local presigned URL, as a client would."""
        from minirag.storage.uploads import LOCAL_UPLOAD_PATH, get_storage

        source = self.ok("POST", "/v1/sources", {"bot_profile_id": bot_id, "name": name, "source_type": "upload",
                                                  "filename": filename}, token)
        storage = get_storage()
        upload_token = source["upload"]["url"].split(LOCAL_UPLOAD_PATH, 1)[1]
        key, _max = storage.verify_token(upload_token)
        storage.write(key, data)
        return source["id"]

    def worker(self):
        from minirag.cli import build_worker
        from minirag.settings import get_settings

        return build_worker(self.template, get_settings())


def settle_vector_index() -> str:
    """Wait for the background HNSW build the ingest started (steady state, as a bot is after its
    ingest); say what the shard is searched with."""
    from minirag.settings import get_settings

    if get_settings().vector_backend != "qdrant-edge":
        return "Qdrant's own"
    from minirag.vectorstore.edge_optimizer import optimization_running, optimized_points, wait_for_optimizations
    from minirag.vectorstore.edge_shards import list_collection_names, open_shard

    began = time.perf_counter()
    while optimization_running():
        wait_for_optimizations()
    waited = time.perf_counter() - began

    threshold = get_settings().edge_optimize_min_points
    states = []
    for name in list_collection_names():
        opened = open_shard(name)
        if opened is not None:
            with opened.reading() as shard:
                points = int(shard.info().points_count)
            built = optimized_points(opened)
            states.append(f"{points} points, HNSW built in the background at {built}" if built else
                          f"{points} points in a plain segment, searched exhaustively")
    return (f"{'; '.join(states)} (EDGE_OPTIMIZE_MIN_POINTS {threshold}; waited {waited:.1f} s after "
            f"the ingest for running builds)")
