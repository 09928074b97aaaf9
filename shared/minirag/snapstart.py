"""Lambda SnapStart runtime hooks (template.yaml, EnableSnapStart): a function restored from a
snapshot must not reuse the network connections that existed when the snapshot was taken, as
several containers resume the same snapshot. Connections are closed before the snapshot and
forgotten after a restore, so the next request opens its own. `snapshot_restore_py` ships in
Lambda's managed Python runtimes only; elsewhere (local runner, tests, images) this does nothing."""

from __future__ import annotations

import sys
from functools import cache


def drop_connections() -> None:
    """Dispose the database pool and the vector-store client, if this process opened them."""
    engine = sys.modules.get("minirag.db.engine")
    if engine is not None:
        engine.reset_engine()
    vector_client = sys.modules.get("minirag.vectorstore.client")
    if vector_client is not None:
        vector_client.reset_client()


@cache
def register_snapstart_hooks() -> bool:
    """Register the hooks once per process; False where the runtime has no SnapStart library."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(drop_connections)
    register_after_restore(drop_connections)
    return True
