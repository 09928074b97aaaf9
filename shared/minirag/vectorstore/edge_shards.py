"""The process's open qdrant-edge shards: one `OpenShard` per collection folder, opened once (a
shard's WAL is locked by the process that opened it) and shared by the local runner's threads.

Concurrency: the engine is thread-safe, so searches run side by side under the shard's `ReadWriteGuard`
read side; writes are serialised by `write_lock` (and recorded in `journal` while a background
optimisation runs, see edge_optimizer.py); swapping in an optimised copy takes the guard's write side
for the few milliseconds the swap lasts.

A collection's folder is either a plain shard folder or, once optimised, a symlink to its current
generation under `.work/`. Crash recovery happens when a shard is opened (`recover`)."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from minirag.vectorstore.store import DENSE, SPARSE, unavailable

CONFIG_FILE = "edge_config.json"
WORK_DIR = ".work"  # optimised copies are built here; "." names can never be collections
READY_MARKER = "minirag-optimized-ready"
_registry_lock = threading.RLock()
_shards: dict[str, "OpenShard"] = {}
_temp_root: str | None = None


class ReadWriteGuard:
    """Many readers or one writer (the stdlib has no read-write lock)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._condition:
            while self._writing:
                self._condition.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._condition:
            while self._writing or self._readers:
                self._condition.wait()
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()


@dataclass
class OpenShard:
    shard: Any
    path: Path
    dimension: int
    write_lock: threading.RLock = field(default_factory=threading.RLock)
    guard: ReadWriteGuard = field(default_factory=ReadWriteGuard)
    journal: list[Any] | None = None  # writes made while an optimised copy is being built
    optimizing: bool = False

    def apply(self, operation: Any) -> None:
        """One durable write (WAL), journaled for the optimised copy when one is being built."""
        with self.write_lock, self.guard.read():
            self.shard.update(operation)
            if self.journal is not None:
                self.journal.append(operation)

    @contextmanager
    def reading(self) -> Iterator[Any]:
        with self.guard.read():
            yield self.shard


def edge_root() -> Path:
    global _temp_root
    from minirag.settings import get_settings

    configured = get_settings().resolved_qdrant_edge_path
    with _registry_lock:
        if configured != ":memory:":
            return Path(configured)
        if _temp_root is None:
            _temp_root = tempfile.mkdtemp(prefix="minirag-qdrant-edge-")
        return Path(_temp_root)


def shard_path(collection: str) -> Path:
    if not collection or "/" in collection or "\\" in collection or collection.startswith("."):
        raise ValueError(f"invalid collection name {collection!r}")
    return edge_root() / collection


def generation_path(path: Path) -> Path:
    """A new folder for the next generation of the shard at `path` (an optimised copy)."""
    work = path.parent / WORK_DIR
    work.mkdir(parents=True, exist_ok=True)
    return work / f"{path.name}.g{time.time_ns()}"


def point_at(path: Path, target: Path) -> Path | None:
    """Make the collection folder name `path` a symlink to `target`, atomically when it already is
    one; returns the folder it named before (to delete)."""
    link = os.path.relpath(target, path.parent)
    if path.is_symlink():
        previous = path.resolve()
        staged = path.parent / WORK_DIR / f"{path.name}.link"
        staged.unlink(missing_ok=True)
        staged.symlink_to(link)
        os.replace(staged, path)
        return previous
    if not path.exists():
        path.symlink_to(link)
        return None
    previous = generation_path(path)
    os.rename(path, previous)  # the first optimisation of a plain folder: a crash here is recovered
    path.symlink_to(link)
    return previous


def recover(path: Path) -> None:
    """Tidy what a crash interrupted, before a shard is opened: if the collection's name points at
    nothing, the newest complete generation (an optimised copy marked ready, else the previous one)
    takes it; every other generation is deleted."""
    work = path.parent / WORK_DIR
    if not work.is_dir():
        return
    generations = sorted((g for g in work.glob(f"{path.name}.g*") if g.is_dir()),
                         key=lambda g: (g / READY_MARKER).exists(), reverse=True)
    if not (path / CONFIG_FILE).exists():
        complete = [g for g in generations if (g / CONFIG_FILE).exists()]
        if complete:
            if path.is_symlink():
                path.unlink()
            path.symlink_to(os.path.relpath(complete[0], path.parent))
    current = path.resolve() if path.is_symlink() else None
    for generation in generations:
        if generation != current:
            shutil.rmtree(generation, ignore_errors=True)
    (work / f"{path.name}.link").unlink(missing_ok=True)


def remove_collection_folder(path: Path) -> None:
    """Delete a collection's folder (and its generation, when the name is a symlink)."""
    if path.is_symlink():
        target = path.resolve()
        path.unlink()
        shutil.rmtree(target, ignore_errors=True)
    else:
        shutil.rmtree(path, ignore_errors=True)
    (path.parent / WORK_DIR / f"{path.name}.optimized.json").unlink(missing_ok=True)


def _stored_dimension(path: Path) -> int:
    return int(json.loads((path / CONFIG_FILE).read_text())["vectors"][DENSE]["size"])


def load_shard(path: Path) -> Any:
    from qdrant_edge import EdgeShard

    return EdgeShard.load(str(path))


def open_shard(collection: str, create_dimension: int | None = None) -> OpenShard | None:
    """The process's open shard for `collection`: loaded from disk, created (when
    `create_dimension` is given), or None when it does not exist."""
    with _registry_lock:
        path = shard_path(collection)
        key = str(path)
        if key in _shards:
            return _shards[key]
        recover(path)
        if (path / CONFIG_FILE).exists():
            try:
                shard = load_shard(path)
            except Exception as exc:  # e.g. another process holds the shard's WAL lock
                raise unavailable(exc) from exc
            opened = OpenShard(shard, path, _stored_dimension(path))
        elif create_dimension is not None:
            opened = OpenShard(_create(path, create_dimension), path, create_dimension)
        else:
            return None
        _shards[key] = opened
        return opened


def _create(path: Path, dimension: int) -> Any:
    from qdrant_edge import (
        Distance,
        EdgeConfig,
        EdgeShard,
        EdgeSparseVectorParams,
        EdgeVectorParams,
        KeywordIndexParams,
        Modifier,
        UpdateOperation,
    )

    config = EdgeConfig(
        vectors={DENSE: EdgeVectorParams(size=dimension, distance=Distance.Cosine)},
        sparse_vectors={SPARSE: EdgeSparseVectorParams(modifier=Modifier.Idf)},
    )
    shard = EdgeShard.create(str(path), config)
    shard.update(UpdateOperation.create_field_index("tenant_id", KeywordIndexParams(is_tenant=True)))
    for name, schema in payload_indexes().items():
        shard.update(UpdateOperation.create_field_index(name, schema))
    shard.flush()
    return shard


def payload_indexes() -> dict[str, Any]:
    """Payload indexes every shard carries: the store's own keys and the declared metadata keys
    (`FILTER_INDEXED_KEYS`), so a filtered query uses an index instead of scanning payloads."""
    from qdrant_edge import PayloadSchemaType

    from minirag.settings import get_settings
    from minirag.vectorstore.filters import declared_index_types

    indexes: dict[str, Any] = {name: PayloadSchemaType.Keyword for name in
                               ("bot_profile_id", "source_id", "document_id", "file_type", "external_id")}
    indexes["_minirag_bool_flags"] = PayloadSchemaType.Keyword  # edge_store.BOOL_FLAGS
    indexes["version"] = PayloadSchemaType.Integer
    indexes["page"] = PayloadSchemaType.Integer
    kinds = {"keyword": PayloadSchemaType.Keyword, "integer": PayloadSchemaType.Integer,
             "float": PayloadSchemaType.Float, "datetime": PayloadSchemaType.Datetime,
             "bool": PayloadSchemaType.Bool}
    for name, kind in declared_index_types(get_settings().filter_indexed_keys).items():
        indexes[name] = kinds[kind]
    return indexes


def forget(path: Path) -> OpenShard | None:
    with _registry_lock:
        return _shards.pop(str(path), None)


def list_collection_names() -> list[str]:
    root = edge_root()
    if not root.is_dir():
        return []
    return [p.name for p in root.iterdir() if not p.name.startswith(".") and (p / CONFIG_FILE).is_file()]


def reset_shards() -> None:
    """Close every open shard (releasing its WAL lock); a ":memory:" temp root is deleted, so the
    next use starts empty."""
    global _temp_root
    from minirag.vectorstore.edge_optimizer import wait_for_optimizations

    wait_for_optimizations(cancel=True)
    with _registry_lock:
        for opened in _shards.values():
            with opened.write_lock, opened.guard.write():
                try:
                    opened.shard.close()
                except Exception:  # closing twice is harmless
                    pass
        _shards.clear()
        if _temp_root is not None:
            shutil.rmtree(_temp_root, ignore_errors=True)
            _temp_root = None


atexit.register(reset_shards)
