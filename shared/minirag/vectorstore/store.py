"""`TenantVectorStore`: every search, scroll, count and delete carries a `tenant_id` must-condition,
every upsert is stamped with the tenant, and there is no method that takes a raw filter.

One collection per tenant and embedding model (its dimension checked; see indexes.py), with a named
dense vector and a sparse BM25 vector (IDF applied by Qdrant, from the tenant's own points), so
retrieval can run dense, sparse or hybrid (RRF) queries.
Point ids are deterministic (uuid5 of source, version, document and chunk position): a redelivered
message rewrites the same points instead of adding copies.

Two backends implement the same class, chosen by settings alone (`VECTOR_BACKEND`):
- "qdrant" (default; `qdrant_client_store.py`): qdrant-client, a server by QDRANT_URL, else local mode;
- "qdrant-edge" (opt-in; `edge_store.py`): Qdrant's engine in-process, one shard per collection.
This base class owns the tenant guarantee: it builds every condition set (tenant first) and calls the
backend's private primitives with it; backends only translate `Conditions` to their filter type.
Stores are opened through `minirag.vectorstore.indexes` (the port services receive)."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

from minirag.errors import UpstreamUnavailable
from minirag.observability import logger

DENSE = "dense"
SPARSE = "bm25"
POINT_NAMESPACE = uuid.UUID("6f1f0a52-3c2e-4d8e-9a53-0b7a1c1d2e3f")


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


@dataclass(frozen=True)
class Conditions:
    """A conjunction built only by `TenantVectorStore._conditions` (tenant_id always first):
    `must` pairs match a value (str/int) or, for a list, any of the values; `must_not` pairs exclude one."""

    must: tuple[tuple[str, Any], ...]
    must_not: tuple[tuple[str, Any], ...] = field(default=())


def unavailable(exc: BaseException) -> UpstreamUnavailable:
    """The retryable error a failed backend call becomes. Its message stays generic (it reaches API
    clients and the source's `last_error`), so the cause goes to the log here."""
    logger.warning("vector store call failed", extra={"cause": f"{type(exc).__name__}: {exc}"})
    return UpstreamUnavailable("the vector store is unavailable; try again")


class TenantVectorStore(ABC):
    """Base of both backends. Public methods hold the tenant logic; subclasses implement the
    `_exists/_ensure/_upsert/_delete/_count/_search` primitives."""

    backend = "abstract"

    def __init__(self, collection: str, tenant_id: uuid.UUID) -> None:
        if not isinstance(tenant_id, uuid.UUID):
            raise TypeError("tenant_id must be a UUID")
        self.collection = collection
        self.tenant_id = tenant_id

    # -- schema ----------------------------------------------------------------------------------
    def ensure_collection(self, dimension: int) -> None:
        """Create the collection (dense `dimension`-d cosine + sparse IDF, tenant index) or check
        that the existing one holds `dimension`-d vectors (InvalidInput otherwise)."""
        self._ensure(dimension)

    def exists(self) -> bool:
        return self._exists()

    # -- filters ---------------------------------------------------------------------------------
    def _conditions(self, **conditions: Any) -> Conditions:
        """tenant_id AND the given keyword/int conditions (None values are skipped; `key__ne`
        excludes a value; a list/tuple/set matches any of its values)."""
        must: list[tuple[str, Any]] = [("tenant_id", str(self.tenant_id))]
        must_not: list[tuple[str, Any]] = []
        for key, value in conditions.items():
            if value is None:
                continue
            if key.endswith("__ne"):
                must_not.append((key[:-4], value))
            elif isinstance(value, (list, tuple, set)):
                must.append((key, [str(v) for v in value]))
            else:
                must.append((key, value if isinstance(value, int) else str(value)))
        return Conditions(tuple(must), tuple(must_not))

    # -- writes ----------------------------------------------------------------------------------
    def upsert(self, points: Iterable[VectorPoint], *, batch_size: int = 256) -> int:
        stamped = [VectorPoint(p.id, p.dense, p.sparse_indices, p.sparse_values,
                               {**p.payload, "tenant_id": str(self.tenant_id)}) for p in points]
        try:
            for start in range(0, len(stamped), batch_size):
                self._upsert(stamped[start:start + batch_size])
        except Exception as exc:
            raise unavailable(exc) from exc
        return len(stamped)

    def delete_source(self, source_id: uuid.UUID, *, version: int | None = None,
                      keep_version: int | None = None) -> None:
        """Delete a source's points: all, one version, or all but `keep_version`."""
        if not self.exists():
            return
        conditions = self._conditions(source_id=str(source_id), version=version,
                                      **({"version__ne": keep_version} if keep_version is not None else {}))
        try:
            self._delete(conditions)
        except Exception as exc:
            raise unavailable(exc) from exc

    def drop_collection(self) -> None:
        """Remove the whole collection (a tenant's own, or an emptied shared one after migration)."""
        if not self.exists():
            return
        try:
            self._drop()
        except Exception as exc:
            raise unavailable(exc) from exc

    # -- reads -----------------------------------------------------------------------------------
    def scroll_points(self, *, batch_size: int = 256) -> Iterator[list[VectorPoint]]:
        """Every point of this tenant in the collection, with its vectors, in batches."""
        if not self.exists():
            return
        conditions = self._conditions()
        offset: Any = None
        while True:
            try:
                points, offset = self._scroll(conditions, limit=batch_size, offset=offset)
            except Exception as exc:
                raise unavailable(exc) from exc
            if points:
                yield points
            if offset is None or not points:
                return

    def count(self, **conditions: Any) -> int:
        if not self.exists():
            return 0
        return int(self._count(self._conditions(**conditions)))

    def search(self, *, bot_profile_id: uuid.UUID, dense: Sequence[float] | None,
               sparse: tuple[Sequence[int], Sequence[float]] | None, limit: int,
               prefetch_limit: int = 100, rrf_k: int = 60, source_ids: Sequence[str] | None = None,
               with_dense_vectors: bool = False) -> list[VectorHit]:
        """Dense, sparse or hybrid (both given: reciprocal-rank fusion of the two prefetches)."""
        if sparse is not None and not list(sparse[0]):
            sparse = None
        if dense is None and sparse is None:
            return []
        if not self.exists():
            return []
        conditions = self._conditions(bot_profile_id=str(bot_profile_id),
                                      source_id=list(source_ids) if source_ids else None)
        try:
            return self._search(conditions, dense=list(dense) if dense is not None else None,
                                sparse=(list(sparse[0]), list(sparse[1])) if sparse is not None else None,
                                limit=limit, prefetch_limit=prefetch_limit, rrf_k=rrf_k,
                                with_dense_vectors=with_dense_vectors)
        except Exception as exc:
            raise unavailable(exc) from exc

    # -- backend primitives ----------------------------------------------------------------------
    @abstractmethod
    def _exists(self) -> bool:
        """Whether the collection exists."""

    @abstractmethod
    def _ensure(self, dimension: int) -> None:
        """Create the collection (dense + sparse, tenant index) or check its dimension."""

    @abstractmethod
    def _upsert(self, points: list[VectorPoint]) -> None:
        """Write points already stamped with the tenant."""

    @abstractmethod
    def _delete(self, conditions: Conditions) -> None:
        """Delete the points matching conditions (always tenant-led)."""

    @abstractmethod
    def _drop(self) -> None:
        """Delete the collection."""

    @abstractmethod
    def _scroll(self, conditions: Conditions, *, limit: int, offset: Any) -> tuple[list[VectorPoint], Any]:
        """A page of points (vectors and payload) matching conditions, and the next page's offset."""

    @abstractmethod
    def _count(self, conditions: Conditions) -> int:
        """Count the points matching conditions (always tenant-led)."""

    @abstractmethod
    def _search(self, conditions: Conditions, *, dense: list[float] | None,
                sparse: tuple[list[int], list[float]] | None, limit: int, prefetch_limit: int,
                rrf_k: int, with_dense_vectors: bool) -> list[VectorHit]:
        """Dense, sparse or RRF-fused hybrid search under conditions (always tenant-led)."""
