"""The deployed backend: qdrant-client, a Qdrant server by QDRANT_URL (else qdrant-client's local mode,
a pure-Python scan that ignores payload indexes; see client.py)."""

from __future__ import annotations

import uuid
from typing import Any

from minirag.errors import InvalidInput, UpstreamUnavailable
from minirag.vectorstore import filters as f
from minirag.vectorstore.client import get_client, vector_lock
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


def _dense_of(point: Any) -> list[float] | None:
    vector = getattr(point, "vector", None)
    if isinstance(vector, dict):
        dense = vector.get(DENSE)
        return list(dense) if dense is not None else None
    return None


def _node(node: f.FilterNode) -> Any:
    """A filters.py tree node as qdrant-client conditions (a nested Filter for combinations)."""
    from qdrant_client import models

    if isinstance(node, f.Match):
        return models.FieldCondition(key=node.key, match=models.MatchValue(value=node.value))
    if isinstance(node, f.MatchAny):
        return models.FieldCondition(key=node.key, match=models.MatchAny(any=list(node.values)))
    if isinstance(node, f.Range):
        kind = models.DatetimeRange if node.dates else models.Range
        return models.FieldCondition(key=node.key, range=kind(gt=node.gt, gte=node.gte, lt=node.lt, lte=node.lte))
    if isinstance(node, f.Exists):
        empty = models.IsEmptyCondition(is_empty=models.PayloadField(key=node.key))
        return models.Filter(must_not=[empty]) if node.exists else models.Filter(must=[empty])
    if isinstance(node, f.And):
        return models.Filter(must=[_node(c) for c in node.children])
    if isinstance(node, f.Or):
        return models.Filter(should=[_node(c) for c in node.children])
    assert isinstance(node, f.Not)
    return models.Filter(must_not=[_node(node.child)])


def payload_index_schemas() -> dict[str, Any]:
    """The payload indexes of every collection: the store's keys and FILTER_INDEXED_KEYS."""
    from qdrant_client import models

    from minirag.settings import get_settings

    kinds = {"keyword": models.PayloadSchemaType.KEYWORD, "integer": models.PayloadSchemaType.INTEGER,
             "float": models.PayloadSchemaType.FLOAT, "datetime": models.PayloadSchemaType.DATETIME,
             "bool": models.PayloadSchemaType.BOOL}
    schemas: dict[str, Any] = {name: kinds["keyword"] for name in
                               ("bot_profile_id", "source_id", "document_id", "file_type", "external_id")}
    schemas["version"] = schemas["page"] = kinds["integer"]
    for name, kind in f.declared_index_types(get_settings().filter_indexed_keys).items():
        schemas[name] = kinds[kind]
    return schemas


def _filter(conditions: Conditions) -> Any:
    from qdrant_client import models

    def condition(key: str, value: Any) -> Any:
        if isinstance(value, list):
            return models.FieldCondition(key=key, match=models.MatchAny(any=value))
        return models.FieldCondition(key=key, match=models.MatchValue(value=value))

    must = [condition(k, v) for k, v in conditions.must]
    if conditions.user_filter is not None:
        must.append(_node(conditions.user_filter))
    return models.Filter(must=must, must_not=[condition(k, v) for k, v in conditions.must_not] or None)


def list_collection_names() -> list[str]:
    with vector_lock():
        return [c.name for c in get_client().get_collections().collections]


class QdrantClientVectorStore(TenantVectorStore):
    backend = "qdrant"

    def __init__(self, collection: str, tenant_id: uuid.UUID, *, client: Any | None = None) -> None:
        super().__init__(collection, tenant_id)
        self._client = client or get_client()

    def _ensure(self, dimension: int) -> None:
        from qdrant_client import models

        with vector_lock():
            try:
                if self._client.collection_exists(self.collection):
                    info = self._client.get_collection(self.collection)
                    vectors = info.config.params.vectors
                    existing = vectors[DENSE].size if isinstance(vectors, dict) else vectors.size
                    if existing != dimension:
                        raise InvalidInput("embedding_model", f"returns {dimension}-d vectors but the collection "
                                           f"{self.collection} holds {existing}-d vectors")
                    return
                self._client.create_collection(
                    self.collection,
                    vectors_config={DENSE: models.VectorParams(size=dimension, distance=models.Distance.COSINE)},
                    sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                )
                self._client.create_payload_index(
                    self.collection, "tenant_id",
                    field_schema=models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
                )
                for field, schema in payload_index_schemas().items():
                    self._client.create_payload_index(self.collection, field, field_schema=schema)
            except (InvalidInput, UpstreamUnavailable):
                raise
            except Exception as exc:
                if self._client.collection_exists(self.collection):
                    return  # created concurrently by another worker
                raise unavailable(exc) from exc

    def _exists(self) -> bool:
        with vector_lock():
            return bool(self._client.collection_exists(self.collection))

    def _upsert(self, points: list[VectorPoint]) -> None:
        from qdrant_client import models

        structs = [
            models.PointStruct(
                id=p.id,
                vector={DENSE: list(p.dense),
                        SPARSE: models.SparseVector(indices=list(p.sparse_indices), values=list(p.sparse_values))},
                payload=p.payload,
            )
            for p in points
        ]
        with vector_lock():
            self._client.upsert(self.collection, points=structs, wait=True)

    def _delete(self, conditions: Conditions) -> None:
        from qdrant_client import models

        with vector_lock():
            self._client.delete(self.collection, points_selector=models.FilterSelector(filter=_filter(conditions)),
                                wait=True)

    def _drop(self) -> None:
        with vector_lock():
            self._client.delete_collection(self.collection)

    def _scroll(self, conditions: Conditions, *, limit: int, offset: Any) -> tuple[list[VectorPoint], Any]:
        with vector_lock():
            records, next_offset = self._client.scroll(self.collection, scroll_filter=_filter(conditions),
                                                       limit=limit, offset=offset, with_payload=True,
                                                       with_vectors=True)
        points = []
        for record in records:
            vectors = record.vector or {}
            sparse = vectors.get(SPARSE)
            points.append(VectorPoint(str(record.id), list(vectors.get(DENSE) or []),
                                      list(sparse.indices) if sparse is not None else [],
                                      list(sparse.values) if sparse is not None else [], dict(record.payload or {})))
        return points, next_offset

    def _count(self, conditions: Conditions) -> int:
        with vector_lock():
            return int(self._client.count(self.collection, count_filter=_filter(conditions), exact=True).count)

    def _nearest(self, conditions: Conditions, queries: list[NearestQuery]) -> list[list[VectorHit]]:
        from qdrant_client import models

        flt = _filter(conditions)
        requests = []
        for q in queries:
            vector: Any = q.dense if q.using == DENSE else models.SparseVector(
                indices=q.sparse[0], values=q.sparse[1]) if q.sparse else None
            requests.append(models.QueryRequest(query=vector, using=q.using, filter=flt, limit=q.limit,
                                                with_payload=list(q.payload) or False, with_vector=False))
        with vector_lock():
            responses = self._client.query_batch_points(self.collection, requests=requests)
        return [[VectorHit(str(p.id), float(p.score), dict(p.payload or {})) for p in r.points] for r in responses]

    def _points(self, ids: list[str]) -> dict[str, tuple[dict[str, Any], list[float] | None]]:
        with vector_lock():
            records = self._client.retrieve(self.collection, ids=ids, with_payload=True, with_vectors=[DENSE])
        return {str(r.id): (dict(r.payload or {}), _dense_of(r)) for r in records}
