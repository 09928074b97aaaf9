"""Background HNSW building for qdrant-edge shards, without ever blocking a request.

`EdgeShard.optimize()` builds the HNSW graph and merges segments, but holds the GIL for its whole run
(~2.5 s at 10k points here, ~100 s at 100k): in a thread every other thread of the process would
stop. So it runs in a child process, on a copy:
1. once a shard holds `EDGE_OPTIMIZE_MIN_POINTS` points and has grown by a quarter since its last
   optimisation, its folder is flushed and copied to a new generation under `.work/` (writes wait
   for the copy; searches go on), and later writes are journaled;
2. a child process (niced) loads the copy, optimises it, flushes and exits;
3. the journal is replayed on the optimised copy, which is opened and swapped in for the old shard
   object (searches wait only for that pointer swap), then the collection's folder name is pointed at
   it by an atomic symlink replace and the old generation is deleted.
A crash at any step leaves the collection's folder pointing at a complete generation (edge_shards.
`recover` tidies up), so nothing acknowledged is lost. Until the first optimisation a shard is a
plain appendable segment, searched exhaustively with its payload indexes (a few ms at 10k points)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from minirag.observability import logger
from minirag.vectorstore.edge_shards import READY_MARKER, OpenShard, generation_path, load_shard, point_at

GROWTH_BEFORE_REOPTIMISING = 1.25
STATE_SUFFIX = ".optimized.json"
_CHILD = (  # niced, and killed with its parent (PR_SET_PDEATHSIG) so no orphan outlives a crash
    "import ctypes, os, signal, sys\n"
    "os.nice(10)\n"
    "try:\n"
    "    ctypes.CDLL(None).prctl(1, signal.SIGKILL)\n"
    "except (OSError, AttributeError):\n"
    "    pass\n"
    "from qdrant_edge import EdgeShard\n"
    "shard = EdgeShard.load(sys.argv[1])\n"
    "shard.optimize()\n"
    "shard.flush()\n"
    "shard.close()\n"
)
_running: dict[str, tuple[threading.Thread, list[subprocess.Popen[bytes]]]] = {}
_running_lock = threading.Lock()


def _state_file(opened: OpenShard) -> Path:
    return opened.path.parent / ".work" / f"{opened.path.name}{STATE_SUFFIX}"


def optimized_points(opened: OpenShard) -> int:
    """Points the shard held at its last optimisation (0: never optimised)."""
    try:
        return int(json.loads(_state_file(opened).read_text())["points"])
    except (OSError, ValueError, KeyError):
        return 0


def schedule_optimization(opened: OpenShard) -> bool:
    """Start a background optimisation of `opened` when it is due; True if one started."""
    from minirag.settings import get_settings

    threshold = get_settings().edge_optimize_min_points
    if threshold <= 0 or opened.optimizing:
        return False
    with opened.reading() as shard:
        points = int(shard.info().points_count)
    if points < threshold or points < optimized_points(opened) * GROWTH_BEFORE_REOPTIMISING:
        return False
    with _running_lock:
        if opened.optimizing:
            return False
        opened.optimizing = True
        children: list[subprocess.Popen[bytes]] = []
        thread = threading.Thread(target=_optimize, args=(opened, children), name="edge-optimizer", daemon=True)
        _running[str(opened.path)] = (thread, children)
    thread.start()
    return True


def _optimize(opened: OpenShard, children: list[subprocess.Popen[bytes]]) -> None:
    copy = generation_path(opened.path)
    try:
        with opened.write_lock:
            opened.shard.flush()
            shutil.copytree(opened.path, copy, symlinks=False)
            (copy / READY_MARKER).unlink(missing_ok=True)
            opened.journal = []
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(copy)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        children.append(child)
        _, errors = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"optimizer exited {child.returncode}: {errors.decode(errors='replace')[-500:]}")
        with opened.write_lock:
            optimised = load_shard(copy)
            for operation in opened.journal or []:
                optimised.update(operation)
            optimised.flush()
            (copy / READY_MARKER).touch()
            points = int(optimised.info().points_count)
            with opened.guard.write():
                previous, opened.shard = opened.shard, optimised
                opened.journal = None
            old_target = point_at(opened.path, copy)
            previous.close()
            if old_target is not None:
                shutil.rmtree(old_target, ignore_errors=True)
        _state_file(opened).write_text(json.dumps({"points": points}))
        logger.info("vector shard optimised", extra={"collection": opened.path.name, "points": points})
    except Exception as exc:  # never fatal: the shard stays as it was, searched without HNSW
        logger.warning("vector shard optimisation failed", extra={"collection": opened.path.name,
                                                                  "cause": f"{type(exc).__name__}: {exc}"})
        opened.journal = None
        if not (copy / READY_MARKER).exists():
            shutil.rmtree(copy, ignore_errors=True)
    finally:
        opened.optimizing = False
        with _running_lock:
            _running.pop(str(opened.path), None)


def wait_for_optimizations(timeout: float | None = None, *, cancel: bool = False) -> None:
    """Wait for running optimisations to end (benches, tests); `cancel` stops their child processes
    first (shutdown), leaving each shard as it was."""
    with _running_lock:
        running = list(_running.values())
    for thread, children in running:
        if cancel:
            for child in children:
                if child.poll() is None:
                    child.kill()
        thread.join(timeout)


def optimization_running() -> bool:
    """Whether an optimisation (copy, child process or swap) is under way in this process."""
    with _running_lock:
        return bool(_running)


__all__ = ["optimization_running", "optimized_points", "schedule_optimization", "wait_for_optimizations"]
