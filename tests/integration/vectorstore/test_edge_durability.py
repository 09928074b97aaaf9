"""The embedded store (qdrant-edge) under crashes and background optimisation: nothing a write
acknowledged is lost when the process is killed with SIGKILL, the store opens again cleanly, and
the HNSW optimisation (out of process, on a copy) swaps in without losing writes made meanwhile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import reset_caches

TENANT = uuid.UUID(int=7)
BOT = uuid.UUID(int=8)
COLLECTION = "minirag_t" + TENANT.hex + "_durability_16"
DIMENSION = 16
ROOT = Path(__file__).resolve().parents[3]


def _points(start: int, count: int):
    from minirag.vectorstore.store import VectorPoint

    rng = np.random.default_rng(start)
    vectors = rng.standard_normal((count, DIMENSION)).astype(np.float32)
    return [VectorPoint(str(uuid.UUID(int=start + i + 1)), vectors[i].tolist(), [i % 50 + 1], [1.0],
                        {"bot_profile_id": str(BOT), "source_id": str(BOT), "version": 1, "text": f"p{start + i}"})
            for i in range(count)]


@pytest.fixture
def edge_on_disk(monkeypatch, tmp_path):
    monkeypatch.setenv("VECTOR_BACKEND", "qdrant-edge")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("QDRANT_PATH", raising=False)
    reset_caches()
    yield tmp_path / "qdrant-edge"
    reset_caches()


def _store():
    from minirag.settings import get_settings
    from minirag.vectorstore.indexes import QdrantIndexes

    store = QdrantIndexes.from_settings(get_settings()).open(COLLECTION, TENANT)
    store.ensure_collection(DIMENSION)
    return store


def _reopen():
    from minirag.vectorstore.edge_shards import reset_shards

    reset_shards()
    return _store()


def test_background_optimisation_swaps_in_an_indexed_copy_without_losing_writes(edge_on_disk, monkeypatch):
    from minirag.vectorstore import edge_optimizer

    monkeypatch.setenv("EDGE_OPTIMIZE_MIN_POINTS", "300")
    reset_caches()
    store = _store()
    store.upsert(_points(0, 299))
    assert not edge_optimizer.optimization_running(), "below the threshold nothing is optimised"
    store.upsert(_points(299, 101))  # 400 points: the optimisation starts in the background
    assert edge_optimizer.optimization_running()
    later = _points(1000, 60)
    for point in later:  # written while the copy is optimised: journaled, replayed on the copy
        store.upsert([point])
        assert store.search(bot_profile_id=BOT, dense=point.dense, sparse=None, limit=1)[0].id == point.id
    edge_optimizer.wait_for_optimizations(120)
    folder = edge_on_disk / COLLECTION
    assert folder.is_symlink() and (edge_on_disk / ".work") in folder.resolve().parents
    assert store.count() == 460
    assert edge_optimizer.optimized_points(_shard()) >= 400
    reopened = _reopen()
    assert reopened.count() == 460
    for point in later[-5:] + _points(0, 5):
        assert reopened.search(bot_profile_id=BOT, dense=point.dense, sparse=None, limit=1)[0].id == point.id
    leftovers = [p.name for p in (edge_on_disk / ".work").iterdir() if p.is_dir() and p != folder.resolve()]
    assert leftovers == []


def _shard():
    from minirag.vectorstore.edge_shards import open_shard

    return open_shard(COLLECTION)


def test_a_failed_optimisation_leaves_the_shard_as_it_was(edge_on_disk, monkeypatch):
    from minirag.vectorstore import edge_optimizer

    monkeypatch.setenv("EDGE_OPTIMIZE_MIN_POINTS", "100")
    monkeypatch.setattr(edge_optimizer, "_CHILD", "raise SystemExit(3)")
    reset_caches()
    store = _store()
    store.upsert(_points(0, 150))
    edge_optimizer.wait_for_optimizations(60)
    assert store.count() == 150 and not (edge_on_disk / COLLECTION).is_symlink()
    assert [p for p in (edge_on_disk / ".work").iterdir() if p.is_dir()] == []
    store.upsert(_points(500, 10))
    assert _reopen().count() == 160


def test_recovery_finishes_or_undoes_an_interrupted_swap(edge_on_disk):
    from minirag.vectorstore.edge_shards import READY_MARKER, generation_path, recover

    store = _store()
    store.upsert(_points(0, 20))
    _reopen()
    from minirag.vectorstore.edge_shards import reset_shards

    reset_shards()
    folder = edge_on_disk / COLLECTION
    # a copy that never became ready, beside the intact shard: discarded
    import shutil

    half = generation_path(folder)
    shutil.copytree(folder, half)
    recover(folder)
    assert not half.exists() and not folder.is_symlink()
    # killed between moving the folder aside and linking the ready copy: the copy takes the name
    ready = generation_path(folder)
    shutil.copytree(folder, ready)
    (ready / READY_MARKER).touch()
    os.rename(folder, generation_path(folder))
    recover(folder)
    assert folder.is_symlink() and folder.resolve() == ready.resolve()
    assert [p for p in (edge_on_disk / ".work").iterdir() if p.is_dir()] == [ready]
    assert _store().count() == 20


WRITER = textwrap.dedent('''
    import sys, uuid
    import numpy as np
    from minirag.settings import get_settings
    from minirag.vectorstore.indexes import QdrantIndexes
    from minirag.vectorstore.store import VectorPoint
    TENANT, BOT, COLLECTION, DIMENSION = uuid.UUID(int=7), uuid.UUID(int=8), sys.argv[1], 16

    def _points(start, count):  # the same points as the test's _points
        rng = np.random.default_rng(start)
        vectors = rng.standard_normal((count, DIMENSION)).astype(np.float32)
        return [VectorPoint(str(uuid.UUID(int=start + i + 1)), vectors[i].tolist(), [i % 50 + 1], [1.0],
                            {"bot_profile_id": str(BOT), "source_id": str(BOT), "version": 1,
                             "text": f"p{start + i}"}) for i in range(count)]

    store = QdrantIndexes.from_settings(get_settings()).open(COLLECTION, TENANT)
    store.ensure_collection(DIMENSION)
    start = 0
    while True:
        store.upsert(_points(start, 50))
        start += 50
        print(start, flush=True)  # acknowledged: upsert returned
''')


@pytest.mark.parametrize("optimize_at", [0, 400], ids=["ingesting", "while-optimising"])
def test_sigkill_during_ingest_loses_nothing_acknowledged(edge_on_disk, optimize_at):
    env = {**os.environ, "EDGE_OPTIMIZE_MIN_POINTS": str(optimize_at), "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "shared"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("QDRANT_PATH", None)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, COLLECTION], env=env, cwd=edge_on_disk.parent,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acknowledged = 0
    try:
        assert writer.stdout is not None
        for line in writer.stdout:
            acknowledged = int(line)
            if acknowledged >= 1500:
                break
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        _, errors = writer.communicate()
    assert acknowledged >= 1500, errors[-2000:]
    if optimize_at:
        work = edge_on_disk / ".work"
        assert work.is_dir() and any(p.is_dir() for p in work.iterdir()) or (edge_on_disk / COLLECTION).is_symlink()
    store = _store()  # opens cleanly: the WAL is replayed, leftovers of an optimisation tidied
    assert store.count() >= acknowledged
    for start in (0, acknowledged - 50):
        point = _points(start, 1)[0]
        assert store.search(bot_profile_id=BOT, dense=point.dense, sparse=None, limit=1)[0].id == point.id
    store.upsert(_points(10_000, 5))
    assert store.count() >= acknowledged + 5
