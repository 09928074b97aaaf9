"""SnapStart hooks: registered once where Lambda's runtime library exists, and they drop the
database pool so a restored snapshot opens its own connections."""

from __future__ import annotations

import sys
import types

from minirag import snapstart
from minirag.db.engine import get_engine


def test_without_the_runtime_library_nothing_is_registered(monkeypatch):
    # Given no snapshot_restore_py (local runner, tests, container images)
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)
    snapstart.register_snapstart_hooks.cache_clear()

    # When the hooks are registered, Then nothing happens
    assert snapstart.register_snapstart_hooks() is False
    snapstart.register_snapstart_hooks.cache_clear()


def test_hooks_drop_the_database_pool_before_snapshot_and_after_restore(monkeypatch):
    # Given Lambda's runtime library and an engine opened during init
    before, after = [], []
    fake = types.ModuleType("snapshot_restore_py")
    fake.register_before_snapshot = before.append
    fake.register_after_restore = after.append
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", fake)
    snapstart.register_snapstart_hooks.cache_clear()
    engine = get_engine()

    # When the hooks are registered (twice: once per process counts)
    assert snapstart.register_snapstart_hooks() is True
    snapstart.register_snapstart_hooks()

    # Then one hook runs on each side, and after a restore the next request gets a new engine
    assert before == after == [snapstart.drop_connections]
    after[0]()
    assert get_engine() is not engine
    snapstart.register_snapstart_hooks.cache_clear()
