"""`TenantVectorStore`: every search, scroll, count and delete carries a `tenant_id` must-condition,
every upsert is stamped with the tenant, and there is no method that takes a raw filter.

One collection per embedding model (its dimension checked), with a named dense vector and a sparse
BM25 vector (IDF applied by Qdrant), so retrieval can run dense, sparse or hybrid (RRF) queries.
Point ids are deterministic (uuid5 of source, version, document and chunk position): a redelivered
message rewrites the same points instead of adding copies."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from minirag.errors import InvalidInput, UpstreamUnavailable
from minirag.vectorstore.client import get_client, vector_lock

DENSE = "dense"
SPARSE = "bm25"
POINT_NAMESPACE = uuid.UUID("6f1f0a52-3c2e-4d8e-9a53-0b7a1c1d2e3f")


def collection_prefix(prefix: str, model: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")
    return f"{prefix}_{slug}_"


def collection_name(prefix: str, model: str, dimension: int) -> str:
    return f"{collection_prefix(prefix, model)}{dimension}"


def point_id(source_id: uuid.UUID, version: int, document_position: int, chunk_position: int) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, f"{source_id}:{version}:{document_position}:{chunk_position}"))


@dataclass
class VectorPoint:
    id: str
    dense: Sequence[float]
    sparse_indices: Sequence[int]
    sparse_values: Sequence[float]
    payload: dict[str, Any]


@dataclass
class VectorHit:
    id: str
    score: float
    payload: dict[str, Any]
    vector: list[float] | None = None


def _unavailable(exc: Exception) -> UpstreamUnavailable:
    return UpstreamUnavailable("the vector store is unavailable; try again")


def _dense_of(point: Any) -> list[float] | None:
    vector = getattr(point, "vector", None)
    if isinstance(vector, dict):
        dense = vector.get(DENSE)
        return list(dense) if dense is not None else None
    return None


class TenantVectorStore:
    def __init__(self, collection: str, tenant_id: uuid.UUID, *, client: Any | None = None) -> None:
        if not isinstance(tenant_id, uuid.UUID):
            raise TypeError("tenant_id must be a UUID")
        self.collection = collection
        self.tenant_id = tenant_id
        self._client = client or get_client()

    # -- schema ----------------------------------------------------------------------------------
    def ensure_collection(self, dimension: int) -> None:
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
                raise _unavailable(exc) from exc

    def exists(self) -> bool:
        with vector_lock():
            return bool(self._client.collection_exists(self.collection))

    # -- filters ---------------------------------------------------------------------------------
    def _filter(self, **conditions: Any) -> Any:
        """tenant_id AND the given keyword/int conditions (None values are skipped)."""
        from qdrant_client import models

        must: list[Any] = [models.FieldCondition(key="tenant_id", match=models.MatchValue(value=str(self.tenant_id)))]
        must_not: list[Any] = []
        for key, value in conditions.items():
            if value is None:
                continue
            if key.endswith("__ne"):
                must_not.append(models.FieldCondition(key=key[:-4], match=models.MatchValue(value=value)))
            elif isinstance(value, (list, tuple, set)):
                must.append(models.FieldCondition(key=key, match=models.MatchAny(any=[str(v) for v in value])))
            else:
                must.append(models.FieldCondition(
                    key=key, match=models.MatchValue(value=value if isinstance(value, int) else str(value))))
        return models.Filter(must=must, must_not=must_not or None)

    # -- writes ----------------------------------------------------------------------------------
    def upsert(self, points: Iterable[VectorPoint], *, batch_size: int = 256) -> int:
        from qdrant_client import models

        structs = [
            models.PointStruct(
                id=p.id,
                vector={DENSE: list(p.dense),
                        SPARSE: models.SparseVector(indices=list(p.sparse_indices), values=list(p.sparse_values))},
                payload={**p.payload, "tenant_id": str(self.tenant_id)},
            )
            for p in points
        ]
        try:
            with vector_lock():
                for start in range(0, len(structs), batch_size):
                    self._client.upsert(self.collection, points=structs[start:start + batch_size], wait=True)
        except Exception as exc:
            raise _unavailable(exc) from exc
        return len(structs)

    def delete_source(self, source_id: uuid.UUID, *, version: int | None = None,
                      keep_version: int | None = None) -> None:
        """Delete a source's points: all, one version, or all but `keep_version`."""
        from qdrant_client import models

        if not self.exists():
            return
        flt = self._filter(source_id=str(source_id), version=version,
                           **({"version__ne": keep_version} if keep_version is not None else {}))
        try:
            with vector_lock():
                self._client.delete(self.collection, points_selector=models.FilterSelector(filter=flt), wait=True)
        except Exception as exc:
            raise _unavailable(exc) from exc

    # -- reads -----------------------------------------------------------------------------------
    def count(self, **conditions: Any) -> int:
        if not self.exists():
            return 0
        with vector_lock():
            return int(self._client.count(self.collection, count_filter=self._filter(**conditions), exact=True).count)

    def search(self, *, bot_profile_id: uuid.UUID, dense: Sequence[float] | None,
               sparse: tuple[Sequence[int], Sequence[float]] | None, limit: int,
               prefetch_limit: int = 100, rrf_k: int = 60, source_ids: Sequence[str] | None = None,
               with_dense_vectors: bool = False) -> list[VectorHit]:
        """Dense, sparse or hybrid (both given: reciprocal-rank fusion of the two prefetches)."""
        from qdrant_client import models

        if not self.exists():
            return []
        flt = self._filter(bot_profile_id=str(bot_profile_id), source_id=list(source_ids) if source_ids else None)
        sparse_vector = models.SparseVector(indices=list(sparse[0]), values=list(sparse[1])) if sparse else None
        with_vectors: Any = [DENSE] if with_dense_vectors else False
        if sparse_vector is not None and not sparse_vector.indices:
            sparse_vector = None
        try:
            with vector_lock():
                if dense is not None and sparse_vector is not None:
                    response = self._client.query_points(
                        self.collection,
                        prefetch=[
                            models.Prefetch(query=list(dense), using=DENSE, filter=flt, limit=prefetch_limit),
                            models.Prefetch(query=sparse_vector, using=SPARSE, filter=flt, limit=prefetch_limit),
                        ],
                        query=models.RrfQuery(rrf=models.Rrf(k=rrf_k)),
                        limit=limit, with_payload=True, with_vectors=with_vectors,
                    )
                elif dense is not None:
                    response = self._client.query_points(self.collection, query=list(dense), using=DENSE,
                                                         query_filter=flt, limit=limit, with_payload=True,
                                                         with_vectors=with_vectors)
                elif sparse_vector is not None:
                    response = self._client.query_points(self.collection, query=sparse_vector, using=SPARSE,
                                                         query_filter=flt, limit=limit, with_payload=True,
                                                         with_vectors=with_vectors)
                else:
                    return []
        except Exception as exc:
            raise _unavailable(exc) from exc
        return [VectorHit(str(p.id), float(p.score), dict(p.payload or {}), _dense_of(p)) for p in response.points]
