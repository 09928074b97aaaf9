"""`TenantVectorStore`: every search, scroll, count and delete carries a `tenant_id` must-condition,
every upsert is stamped with the tenant, and there is no method that takes a raw filter.

One collection per tenant and embedding model (its dimension checked; see indexes.py), with a named
dense vector and a sparse BM25 vector (IDF applied by Qdrant, from the tenant's own points), so
retrieval can run dense, sparse or hybrid (RRF) queries.
Point ids are deterministic (uuid5 of source, version, document and chunk position): a redelivered
message rewrites the same points instead of adding copies.

Two backends implement the same class, chosen by settings alone (`VECTOR_BACKEND`):
- "qdrant-edge" (the embedded default; `edge_store.py`): Qdrant's engine in-process, one shard per
  collection;
- "qdrant" (`qdrant_client_store.py`): qdrant-client, a Qdrant server by QDRANT_URL (the deployed
  path), else qdrant-client's local mode (a pure-Python scan, kept so the server code path runs in
  tests on machines without a Qdrant server).
This base class owns the tenant guarantee: it builds every condition set (tenant first) and calls the
backend's private primitives with it; backends only translate `Conditions` to their filter type.
A client's metadata filter (filters.py) rides inside `Conditions` as one more AND-ed clause.

Hybrid search asks the backend for both nearest-neighbour lists in one batched call and fuses them
here with reciprocal-rank fusion (score = sum of 1/(k + rank)), so every hit knows its rank in each
list (`ranks`) and its raw score there (`scores`: the dense cosine, the sparse BM25 score). The lists
carry ids and scores only (plus `GROUP_PAYLOAD` when grouping by document): the payload and dense
vector of the hits that are returned are fetched afterwards in one call, which keeps Python's share of
a query small (payloads in the lists cost ~1.5 ms per hybrid query at 10k points).
Stores are opened through `minirag.vectorstore.indexes` (the port services receive)."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

from minirag.errors import UpstreamUnavailable
from minirag.observability import logger
from minirag.vectorstore.filters import FilterNode

DENSE = "dense"
SPARSE = "bm25"
GROUP_PAYLOAD = ("document_id",)  # what grouping by document reads from the lists
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
    score: float  # the fused RRF score (hybrid), else the one retriever's raw score
    payload: dict[str, Any]
    vector: list[float] | None = None  # the dense vector, when asked for
    ranks: dict[str, int] = field(default_factory=dict)  # 1-based rank per retriever ("dense", "bm25")
    scores: dict[str, float] = field(default_factory=dict)  # raw score per retriever


@dataclass(frozen=True)
class NearestQuery:
    """One nearest-neighbour list to fetch: by the dense or the sparse vector."""

    using: str  # DENSE or SPARSE
    dense: list[float] | None = None
    sparse: tuple[list[int], list[float]] | None = None
    limit: int = 10
    payload: tuple[str, ...] = ()  # payload keys the hits must carry (none: ids and scores only)


@dataclass(frozen=True)
class Conditions:
    """A conjunction built only by `TenantVectorStore._conditions` (tenant_id always first):
    `must` pairs match a value (str/int) or, for a list, any of the values; `must_not` pairs exclude one."""

    must: tuple[tuple[str, Any], ...]
    must_not: tuple[tuple[str, Any], ...] = field(default=())
    user_filter: FilterNode | None = None  # a client's metadata filter, AND-ed with the above


def unavailable(exc: BaseException) -> UpstreamUnavailable:
    """The retryable error a failed backend call becomes. Its message stays generic (it reaches API
    clients and the source's `last_error`), so the cause goes to the log here."""
    logger.warning("vector store call failed", extra={"cause": f"{type(exc).__name__}: {exc}"})
    return UpstreamUnavailable("the vector store is unavailable; try again")


class TenantVectorStore(ABC):
    """Base of both backends. Public methods hold the tenant logic; subclasses implement the
    `_exists/_ensure/_upsert/_delete/_count/_nearest` primitives."""

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
    def _conditions(self, *, user_filter: FilterNode | None = None, **conditions: Any) -> Conditions:
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
        return Conditions(tuple(must), tuple(must_not), user_filter)

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
               user_filter: FilterNode | None = None, group_by_document: bool = False) -> list[VectorHit]:
        """Dense, sparse or hybrid (both given: RRF of the two lists of `prefetch_limit`). Sparse
        hits carry their dense vector (for the caller's relevance); dense hits' raw score is the
        cosine already. `group_by_document` keeps each document's best chunk only."""
        if sparse is not None and not list(sparse[0]):
            sparse = None
        if dense is None and sparse is None:
            return []
        if not self.exists():
            return []
        conditions = self._conditions(bot_profile_id=str(bot_profile_id),
                                      source_id=list(source_ids) if source_ids else None,
                                      user_filter=user_filter)
        hybrid = dense is not None and sparse is not None
        per_list = prefetch_limit if hybrid or group_by_document else limit
        keys = GROUP_PAYLOAD if group_by_document else ()
        queries = []
        if dense is not None:
            queries.append(NearestQuery(DENSE, dense=list(dense), limit=per_list, payload=keys))
        if sparse is not None:
            queries.append(NearestQuery(SPARSE, sparse=(list(sparse[0]), list(sparse[1])), limit=per_list,
                                        payload=keys))
        try:
            lists = self._nearest(conditions, queries)
            hits = fuse(dict(zip((q.using for q in queries), lists, strict=True)), rrf_k=rrf_k)
            if group_by_document:
                hits = best_per_document(hits)
            hits = hits[:limit]
            stored = self._points([h.id for h in hits]) if hits else {}
        except Exception as exc:
            raise unavailable(exc) from exc
        tenant = str(self.tenant_id)
        kept = []
        for hit in hits:
            payload, vector = stored.get(hit.id, ({}, None))
            if payload.get("tenant_id") != tenant:  # the lists were tenant-filtered; checked again
                continue
            hit.payload, hit.vector = payload, vector
            kept.append(hit)
        return kept

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
    def _nearest(self, conditions: Conditions, queries: list[NearestQuery]) -> list[list[VectorHit]]:
        """The nearest-neighbour lists of `queries`, in one batched call, under conditions (always
        tenant-led); each hit's `score` is the raw score of its list, its payload the query's `payload` keys."""

    @abstractmethod
    def _points(self, ids: list[str]) -> dict[str, tuple[dict[str, Any], list[float] | None]]:
        """Payload and dense vector of the points `ids` (hits of a tenant-filtered search)."""


def fuse(lists: dict[str, list[VectorHit]], *, rrf_k: int) -> list[VectorHit]:
    """One list: its order, ranks recorded. Several: reciprocal-rank fusion (ties keep the first
    list's order), each hit carrying its rank and raw score in every list it appears in."""
    merged: dict[str, VectorHit] = {}
    fused: dict[str, float] = {}
    for using, hits in lists.items():
        for rank, hit in enumerate(hits, start=1):
            kept = merged.setdefault(hit.id, hit)
            kept.ranks[using] = rank
            kept.scores[using] = hit.score
            if kept.vector is None and hit.vector is not None:
                kept.vector = hit.vector
            fused[hit.id] = fused.get(hit.id, 0.0) + 1.0 / (rrf_k + rank)
    if len(lists) == 1:
        return list(merged.values())
    order = sorted(merged.values(), key=lambda h: -fused[h.id])
    for hit in order:
        hit.score = fused[hit.id]
    return order


def best_per_document(hits: list[VectorHit]) -> list[VectorHit]:
    """Each document's best-ranked chunk, in order (citations that do not repeat one document)."""
    seen: set[Any] = set()
    kept = []
    for hit in hits:
        document = hit.payload.get("document_id")
        if document in seen:
            continue
        seen.add(document)
        kept.append(hit)
    return kept
