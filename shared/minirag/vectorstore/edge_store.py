"""The opt-in embedded backend (VECTOR_BACKEND=qdrant-edge): qdrant-edge-py, Qdrant's own engine
in-process. One `EdgeShard` per collection, in `<data_dir>/qdrant-edge/<collection>` (a throw-away
temp dir when QDRANT_PATH is ":memory:", as in tests and benches), with the same schema as the
server collections: named dense vector (cosine) + sparse BM25 vector (IDF modifier), a tenant
keyword index (`is_tenant`) and keyword indexes on bot_profile_id/source_id.

A shard's WAL is locked by the process that opened it, so the process keeps one open shard per
collection (`_shards`) and serialises calls on it with a per-shard lock (the local runner's API
and ingest worker are threads). Writes are WAL-durable when `update` returns.

Segment optimisation (HNSW building) only runs when `EdgeShard.optimize()` is called, and that call
holds the GIL for its whole run (~10 s for 10k x 384-d: every thread of the process stops), so the
store never calls it: searches scan the appendable segment with the payload indexes, ~2 ms for a
filtered hybrid query at 10k points."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minirag.errors import InvalidInput, UpstreamUnavailable
from minirag.vectorstore.store import (
    DENSE,
    SPARSE,
    Conditions,
    TenantVectorStore,
    VectorHit,
    VectorPoint,
    unavailable,
)

CONFIG_FILE = "edge_config.json"
_registry_lock = threading.RLock()
_shards: dict[str, "_Shard"] = {}
_temp_root: str | None = None


@dataclass
class _Shard:
    shard: Any
    lock: threading.RLock
    dimension: int


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


def _path(collection: str) -> Path:
    if not collection or "/" in collection or "\\" in collection or collection.startswith("."):
        raise ValueError(f"invalid collection name {collection!r}")
    return edge_root() / collection


def _stored_dimension(path: Path) -> int:
    return int(json.loads((path / CONFIG_FILE).read_text())["vectors"][DENSE]["size"])


def _open(collection: str, create_dimension: int | None = None) -> _Shard | None:
    """The process's open shard for `collection`: loaded from disk, created (when
    `create_dimension` is given), or None when it does not exist."""
    with _registry_lock:
        path = _path(collection)
        key = str(path)
        if key in _shards:
            return _shards[key]
        from qdrant_edge import (
            Distance,
            EdgeConfig,
            EdgeShard,
            EdgeSparseVectorParams,
            EdgeVectorParams,
            KeywordIndexParams,
            Modifier,
            PayloadSchemaType,
            UpdateOperation,
        )

        if (path / CONFIG_FILE).exists():
            try:
                shard = EdgeShard.load(str(path))
            except Exception as exc:  # e.g. another process holds the shard's WAL lock
                raise unavailable(exc) from exc
            opened = _Shard(shard, threading.RLock(), _stored_dimension(path))
        elif create_dimension is not None:
            config = EdgeConfig(
                vectors={DENSE: EdgeVectorParams(size=create_dimension, distance=Distance.Cosine)},
                sparse_vectors={SPARSE: EdgeSparseVectorParams(modifier=Modifier.Idf)},
            )
            shard = EdgeShard.create(str(path), config)
            shard.update(UpdateOperation.create_field_index("tenant_id", KeywordIndexParams(is_tenant=True)))
            for field in ("bot_profile_id", "source_id"):
                shard.update(UpdateOperation.create_field_index(field, PayloadSchemaType.Keyword))
            shard.update(UpdateOperation.create_field_index("version", PayloadSchemaType.Integer))
            shard.flush()
            opened = _Shard(shard, threading.RLock(), create_dimension)
        else:
            return None
        _shards[key] = opened
        return opened


def list_collection_names() -> list[str]:
    root = edge_root()
    if not root.is_dir():
        return []
    return [p.name for p in root.iterdir() if (p / CONFIG_FILE).is_file()]


def reset_shards() -> None:
    """Close every open shard (releasing its WAL lock); a ":memory:" temp root is deleted, so the
    next use starts empty."""
    global _temp_root
    with _registry_lock:
        for opened in _shards.values():
            with opened.lock:
                try:
                    opened.shard.close()
                except Exception:  # closing twice is harmless
                    pass
        _shards.clear()
        if _temp_root is not None:
            shutil.rmtree(_temp_root, ignore_errors=True)
            _temp_root = None


atexit.register(reset_shards)


def _filter(conditions: Conditions) -> Any:
    from qdrant_edge import FieldCondition, Filter, MatchAny, MatchValue

    def condition(key: str, value: Any) -> Any:
        if isinstance(value, list):
            return FieldCondition(key=key, match=MatchAny(value))
        return FieldCondition(key=key, match=MatchValue(value))

    return Filter(must=[condition(k, v) for k, v in conditions.must],
                  must_not=[condition(k, v) for k, v in conditions.must_not] or None)


class EdgeVectorStore(TenantVectorStore):
    backend = "qdrant-edge"

    def _shard(self) -> _Shard | None:
        return _open(self.collection)

    def _exists(self) -> bool:
        return self._shard() is not None

    def _ensure(self, dimension: int) -> None:
        try:
            opened = _open(self.collection, create_dimension=dimension)
        except UpstreamUnavailable:
            raise
        except Exception as exc:
            raise unavailable(exc) from exc
        assert opened is not None
        if opened.dimension != dimension:
            raise InvalidInput("embedding_model", f"returns {dimension}-d vectors but the collection "
                               f"{self.collection} holds {opened.dimension}-d vectors")

    def _require(self) -> _Shard:
        opened = self._shard()
        if opened is None:
            raise RuntimeError(f"collection {self.collection} does not exist")
        return opened

    def _upsert(self, points: list[VectorPoint]) -> None:
        from qdrant_edge import Point, SparseVector, UpdateOperation

        structs = [Point(p.id, {DENSE: [float(x) for x in p.dense],
                                SPARSE: SparseVector([int(i) for i in p.sparse_indices],
                                                     [float(v) for v in p.sparse_values])}, p.payload)
                   for p in points]
        opened = self._require()
        with opened.lock:
            opened.shard.update(UpdateOperation.upsert_points(structs))

    def _delete(self, conditions: Conditions) -> None:
        from qdrant_edge import UpdateOperation

        opened = self._require()
        with opened.lock:
            opened.shard.update(UpdateOperation.delete_points_by_filter(_filter(conditions)))

    def _drop(self) -> None:
        with _registry_lock:
            path = _path(self.collection)
            opened = _shards.pop(str(path), None)
            if opened is not None:
                with opened.lock:
                    opened.shard.close()
            shutil.rmtree(path, ignore_errors=True)

    def _scroll(self, conditions: Conditions, *, limit: int, offset: Any) -> tuple[list[VectorPoint], Any]:
        from qdrant_edge import ScrollRequest

        opened = self._require()
        with opened.lock:
            request = ScrollRequest(limit=limit, offset=offset, filter=_filter(conditions), with_payload=True,
                                    with_vector=True)
            records, next_offset = opened.shard.scroll(request)
        points = []
        for record in records:
            vectors = record.vector or {}
            sparse = vectors.get(SPARSE)
            points.append(VectorPoint(str(record.id), [float(x) for x in vectors.get(DENSE) or []],
                                      list(sparse.indices) if sparse is not None else [],
                                      list(sparse.values) if sparse is not None else [], dict(record.payload or {})))
        return points, next_offset

    def _count(self, conditions: Conditions) -> int:
        from qdrant_edge import CountRequest

        opened = self._require()
        with opened.lock:
            return int(opened.shard.count(CountRequest(exact=True, filter=_filter(conditions))))

    def _search(self, conditions: Conditions, *, dense: list[float] | None,
                sparse: tuple[list[int], list[float]] | None, limit: int, prefetch_limit: int,
                rrf_k: int, with_dense_vectors: bool) -> list[VectorHit]:
        from qdrant_edge import Fusion, Prefetch, Query, QueryRequest, SparseVector

        flt = _filter(conditions)
        with_vector: Any = [DENSE] if with_dense_vectors else False
        sparse_vector = SparseVector(sparse[0], sparse[1]) if sparse is not None else None
        if dense is not None and sparse_vector is not None:
            request = QueryRequest(
                limit=limit, query=Fusion.Rrf(k=rrf_k),
                prefetches=[Prefetch(limit=prefetch_limit, query=Query.Nearest(dense, using=DENSE), filter=flt),
                            Prefetch(limit=prefetch_limit, query=Query.Nearest(sparse_vector, using=SPARSE),
                                     filter=flt)],
                with_payload=True, with_vector=with_vector,
            )
        elif dense is not None:
            request = QueryRequest(limit=limit, query=Query.Nearest(dense, using=DENSE), filter=flt,
                                   with_payload=True, with_vector=with_vector)
        else:
            request = QueryRequest(limit=limit, query=Query.Nearest(sparse_vector, using=SPARSE), filter=flt,
                                   with_payload=True, with_vector=with_vector)
        opened = self._require()
        with opened.lock:
            points = opened.shard.query(request)
        hits = []
        for p in points:
            vector = p.vector
            dense_out = list(vector[DENSE]) if isinstance(vector, dict) and DENSE in vector else None
            hits.append(VectorHit(str(p.id), float(p.score), dict(p.payload or {}), dense_out))
        return hits


__all__ = ["EdgeVectorStore", "edge_root", "list_collection_names", "reset_shards"]
