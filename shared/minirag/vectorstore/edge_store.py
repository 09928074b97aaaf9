"""The embedded default backend (VECTOR_BACKEND=qdrant-edge): qdrant-edge-py, Qdrant's own engine
in-process. One shard per collection in `<data_dir>/qdrant-edge/<collection>` (a throw-away temp dir
when QDRANT_PATH is ":memory:", as in tests and benches), with the same schema as the server
collections: named dense vector (cosine) + sparse BM25 vector (IDF modifier), a tenant keyword index
(`is_tenant`) and payload indexes on the store's keys and the declared metadata keys.

Open shards, their locks and crash recovery: edge_shards.py. Writes are WAL-durable when `update`
returns. HNSW building happens out of process, in the background, past a size threshold:
edge_optimizer.py (the engine's `optimize()` holds the GIL for its whole run)."""

from __future__ import annotations

from typing import Any

from minirag.errors import InvalidInput, UpstreamUnavailable
from minirag.vectorstore import filters as f
from minirag.vectorstore.edge_shards import (
    OpenShard,
    edge_root,
    forget,
    list_collection_names,
    open_shard,
    remove_collection_folder,
    reset_shards,
    shard_path,
)
from minirag.vectorstore.store import (
    DENSE,
    SPARSE,
    Conditions,
    NearestQuery,
    TenantVectorStore,
    VectorHit,
    VectorPoint,
    unavailable,
)

# qdrant-edge-py 0.9 turns a Python bool into the integer 1 or 0 in MatchValue (bool is an int
# subclass), so `eq: true` never matched a JSON `true`. Each boolean in a point's metadata is also
# written as a "path=true"/"path=false" string under BOOL_FLAGS, and boolean matches use that.
BOOL_FLAGS = "_minirag_bool_flags"


def _bool_flags(value: Any, path: str) -> list[str]:
    if isinstance(value, bool):
        return [f"{path}={'true' if value else 'false'}"]
    if isinstance(value, dict):
        return [flag for k, v in value.items() for flag in _bool_flags(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [flag for v in value for flag in _bool_flags(v, path)]
    return []


def _flag(key: str, value: bool) -> str:
    return f"{key}={'true' if value else 'false'}"


def _node(node: f.FilterNode) -> Any:
    """A filters.py tree node as qdrant-edge conditions (a nested Filter for combinations)."""
    from qdrant_edge import FieldCondition, Filter, MatchAny, MatchValue, RangeDateTime, RangeFloat

    if isinstance(node, f.Match):
        if isinstance(node.value, bool):
            return FieldCondition(key=BOOL_FLAGS, match=MatchValue(_flag(node.key, node.value)))
        return FieldCondition(key=node.key, match=MatchValue(node.value))
    if isinstance(node, f.MatchAny):
        flags = [_flag(node.key, v) for v in node.values if isinstance(v, bool)]
        others = [v for v in node.values if not isinstance(v, bool)]
        parts = ([FieldCondition(key=BOOL_FLAGS, match=MatchAny(flags))] if flags else []) + (
            [FieldCondition(key=node.key, match=MatchAny(others))] if others else [])
        return parts[0] if len(parts) == 1 else Filter(should=parts)
    if isinstance(node, f.Range):
        kind = RangeDateTime if node.dates else RangeFloat
        return FieldCondition(key=node.key, range=kind(gt=node.gt, gte=node.gte, lt=node.lt, lte=node.lte))
    if isinstance(node, f.Exists):
        empty = FieldCondition(key=node.key, is_empty=True)
        return Filter(must_not=[empty]) if node.exists else Filter(must=[empty])
    if isinstance(node, f.And):
        return Filter(must=[_node(c) for c in node.children])
    if isinstance(node, f.Or):
        return Filter(should=[_node(c) for c in node.children])
    assert isinstance(node, f.Not)
    return Filter(must_not=[_node(node.child)])


def _filter(conditions: Conditions) -> Any:
    from qdrant_edge import FieldCondition, Filter, MatchAny, MatchValue

    def condition(key: str, value: Any) -> Any:
        if isinstance(value, list):
            return FieldCondition(key=key, match=MatchAny(value))
        return FieldCondition(key=key, match=MatchValue(value))

    must = [condition(k, v) for k, v in conditions.must]
    if conditions.user_filter is not None:
        must.append(_node(conditions.user_filter))
    return Filter(must=must, must_not=[condition(k, v) for k, v in conditions.must_not] or None)


class EdgeVectorStore(TenantVectorStore):
    backend = "qdrant-edge"

    def _shard(self) -> OpenShard | None:
        return open_shard(self.collection)

    def _exists(self) -> bool:
        return self._shard() is not None

    def _ensure(self, dimension: int) -> None:
        try:
            opened = open_shard(self.collection, create_dimension=dimension)
        except UpstreamUnavailable:
            raise
        except Exception as exc:
            raise unavailable(exc) from exc
        assert opened is not None
        if opened.dimension != dimension:
            raise InvalidInput("embedding_model", f"returns {dimension}-d vectors but the collection "
                               f"{self.collection} holds {opened.dimension}-d vectors")

    def _require(self) -> OpenShard:
        opened = self._shard()
        if opened is None:
            raise RuntimeError(f"collection {self.collection} does not exist")
        return opened

    def _upsert(self, points: list[VectorPoint]) -> None:
        from qdrant_edge import Point, SparseVector, UpdateOperation

        from minirag.vectorstore.edge_optimizer import schedule_optimization

        structs = [Point(p.id, {DENSE: [float(x) for x in p.dense],
                                SPARSE: SparseVector([int(i) for i in p.sparse_indices],
                                                     [float(v) for v in p.sparse_values])},
                         {**p.payload, BOOL_FLAGS: _bool_flags(p.payload.get("metadata") or {}, "metadata")})
                   for p in points]
        opened = self._require()
        opened.apply(UpdateOperation.upsert_points(structs))
        schedule_optimization(opened)

    def _delete(self, conditions: Conditions) -> None:
        from qdrant_edge import UpdateOperation

        self._require().apply(UpdateOperation.delete_points_by_filter(_filter(conditions)))

    def _drop(self) -> None:
        path = shard_path(self.collection)
        opened = forget(path)
        if opened is not None:
            with opened.write_lock, opened.guard.write():
                opened.shard.close()
        remove_collection_folder(path)

    def _scroll(self, conditions: Conditions, *, limit: int, offset: Any) -> tuple[list[VectorPoint], Any]:
        from qdrant_edge import ScrollRequest

        request = ScrollRequest(limit=limit, offset=offset, filter=_filter(conditions), with_payload=True,
                                with_vector=True)
        with self._require().reading() as shard:
            records, next_offset = shard.scroll(request)
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

        with self._require().reading() as shard:
            return int(shard.count(CountRequest(exact=True, filter=_filter(conditions))))

    def _nearest(self, conditions: Conditions, queries: list[NearestQuery]) -> list[list[VectorHit]]:
        from qdrant_edge import Query, QueryBatchRequest, QueryRequest, SparseVector

        flt = _filter(conditions)
        requests = []
        for q in queries:
            vector: Any = q.dense if q.using == DENSE else SparseVector(*q.sparse) if q.sparse else None
            requests.append(QueryRequest(limit=q.limit, query=Query.Nearest(vector, using=q.using), filter=flt,
                                         with_payload=list(q.payload) or False, with_vector=False))
        with self._require().reading() as shard:
            results = shard.query_batch(QueryBatchRequest(requests)) if len(requests) > 1 else [
                shard.query(requests[0])]
        return [[VectorHit(str(p.id), float(p.score), dict(p.payload or {})) for p in points] for points in results]

    def _points(self, ids: list[str]) -> dict[str, tuple[dict[str, Any], list[float] | None]]:
        from qdrant_edge import PayloadSelector

        with self._require().reading() as shard:
            records = shard.retrieve(ids, PayloadSelector.Exclude([BOOL_FLAGS]), [DENSE])
        found = {}
        for record in records:
            vector = record.vector
            dense = list(vector[DENSE]) if isinstance(vector, dict) and DENSE in vector else None
            found[str(record.id)] = (dict(record.payload or {}), dense)
        return found


__all__ = ["EdgeVectorStore", "edge_root", "list_collection_names", "reset_shards"]
