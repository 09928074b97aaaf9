"""The default backend: qdrant-client (a server by QDRANT_URL, else local mode; see client.py)."""

from __future__ import annotations

import uuid
from typing import Any

from minirag.errors import InvalidInput, UpstreamUnavailable
from minirag.vectorstore.client import get_client, vector_lock
from minirag.vectorstore.store import (
    DENSE,
    SPARSE,
    Conditions,
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


def _filter(conditions: Conditions) -> Any:
    from qdrant_client import models

    def condition(key: str, value: Any) -> Any:
        if isinstance(value, list):
            return models.FieldCondition(key=key, match=models.MatchAny(any=value))
        return models.FieldCondition(key=key, match=models.MatchValue(value=value))

    return models.Filter(must=[condition(k, v) for k, v in conditions.must],
                         must_not=[condition(k, v) for k, v in conditions.must_not] or None)


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
                for field in ("bot_profile_id", "source_id"):
                    self._client.create_payload_index(self.collection, field,
                                                      field_schema=models.PayloadSchemaType.KEYWORD)
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

    def _search(self, conditions: Conditions, *, dense: list[float] | None,
                sparse: tuple[list[int], list[float]] | None, limit: int, prefetch_limit: int,
                rrf_k: int, with_dense_vectors: bool) -> list[VectorHit]:
        from qdrant_client import models

        flt = _filter(conditions)
        sparse_vector = models.SparseVector(indices=sparse[0], values=sparse[1]) if sparse is not None else None
        with_vectors: Any = [DENSE] if with_dense_vectors else False
        with vector_lock():
            if dense is not None and sparse_vector is not None:
                response = self._client.query_points(
                    self.collection,
                    prefetch=[
                        models.Prefetch(query=dense, using=DENSE, filter=flt, limit=prefetch_limit),
                        models.Prefetch(query=sparse_vector, using=SPARSE, filter=flt, limit=prefetch_limit),
                    ],
                    query=models.RrfQuery(rrf=models.Rrf(k=rrf_k)),
                    limit=limit, with_payload=True, with_vectors=with_vectors,
                )
            elif dense is not None:
                response = self._client.query_points(self.collection, query=dense, using=DENSE,
                                                     query_filter=flt, limit=limit, with_payload=True,
                                                     with_vectors=with_vectors)
            else:
                response = self._client.query_points(self.collection, query=sparse_vector, using=SPARSE,
                                                     query_filter=flt, limit=limit, with_payload=True,
                                                     with_vectors=with_vectors)
        return [VectorHit(str(p.id), float(p.score), dict(p.payload or {}), _dense_of(p)) for p in response.points]
