"""The vector store as services see it: `VectorIndexes`, a port handed to them where they are built
(functions/ingest/app.py, the chat dependency), never a module global.

One collection per tenant, embedding model and dimension (`<prefix>_t<tenant hex>_<model>_<dim>`):
a model change never mixes vector spaces, and Qdrant's collection-wide statistics (the IDF of the
sparse BM25 vectors) are the tenant's own, so no score depends on another tenant's words (a shared
collection let a tenant learn which words occur in another tenant's documents from its own BM25
scores). Points still carry and are filtered by `tenant_id` (the store's guarantee).

`QdrantIndexes` is the one implementation: it opens stores on the backend chosen by settings
(VECTOR_BACKEND): `qdrant_client_store.py` (default) or `edge_store.py` (qdrant-edge, embedded).
Backends are imported on first use: importing this module loads neither qdrant_client nor
qdrant_edge (cold start of the functions that never search)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Literal, Protocol

from minirag.settings import Settings
from minirag.vectorstore.store import TenantVectorStore, unavailable

Backend = Literal["qdrant", "qdrant-edge"]


class VectorIndexes(Protocol):
    """What services need from the vector store: a tenant's store for one model's vectors."""

    def for_model(self, tenant_id: uuid.UUID, model: str, dimension: int) -> TenantVectorStore:
        """The store of `model`'s `dimension`-d vectors (the collection may not exist yet)."""
        ...

    def all_for_model(self, tenant_id: uuid.UUID, model: str) -> list[TenantVectorStore]:
        """The stores of every existing collection of `model` (any dimension): for deletes."""
        ...


def tenant_prefix(prefix: str, tenant_id: uuid.UUID) -> str:
    return f"{prefix}_t{tenant_id.hex}_"


def collection_prefix(prefix: str, tenant_id: uuid.UUID, model: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")
    return f"{tenant_prefix(prefix, tenant_id)}{slug}_"


def collection_name(prefix: str, tenant_id: uuid.UUID, model: str, dimension: int) -> str:
    return f"{collection_prefix(prefix, tenant_id, model)}{dimension}"


def is_shared_collection(prefix: str, name: str) -> bool:
    """A collection of the layout before per-tenant collections (`<prefix>_<model slug>_<dimension>`)."""
    return name.startswith(f"{prefix}_") and not re.match(rf"{re.escape(prefix)}_t[0-9a-f]{{32}}_", name)


@dataclass(frozen=True)
class QdrantIndexes:
    """`VectorIndexes` on the configured Qdrant backend (a server or local mode, or qdrant-edge)."""

    backend: Backend
    prefix: str

    @classmethod
    def from_settings(cls, settings: Settings) -> "QdrantIndexes":
        return cls(settings.vector_backend, settings.qdrant_collection_prefix)

    def for_model(self, tenant_id: uuid.UUID, model: str, dimension: int) -> TenantVectorStore:
        return self.open(collection_name(self.prefix, tenant_id, model, dimension), tenant_id)

    def all_for_model(self, tenant_id: uuid.UUID, model: str) -> list[TenantVectorStore]:
        return [self.open(name, tenant_id)
                for name in self.list_collections(collection_prefix(self.prefix, tenant_id, model))]

    def adopt_shared_collections(self, tenant_ids: list[uuid.UUID]) -> dict[str, int]:
        """Move the points of shared (pre per-tenant) collections into each tenant's own collection,
        tenant by tenant through the tenant-scoped store, then drop the emptied shared collection.
        Idempotent (point ids are deterministic); returns points moved per shared collection."""
        moved: dict[str, int] = {}
        for name in self.list_collections(f"{self.prefix}_"):
            if not is_shared_collection(self.prefix, name):
                continue
            suffix = name[len(self.prefix) + 1:]
            dimension = int(suffix.rsplit("_", 1)[1])
            moved[name] = 0
            for tenant_id in tenant_ids:
                shared = self.open(name, tenant_id)
                target = self.open(f"{tenant_prefix(self.prefix, tenant_id)}{suffix}", tenant_id)
                for points in shared.scroll_points():
                    target.ensure_collection(dimension)
                    moved[name] += target.upsert(points)
            self.open(name, uuid.UUID(int=0)).drop_collection()
        return moved

    def open(self, collection: str, tenant_id: uuid.UUID) -> TenantVectorStore:
        """The backend's store for one collection and one tenant."""
        if self.backend == "qdrant-edge":
            from minirag.vectorstore.edge_store import EdgeVectorStore

            return EdgeVectorStore(collection, tenant_id)
        from minirag.vectorstore.qdrant_client_store import QdrantClientVectorStore

        return QdrantClientVectorStore(collection, tenant_id)

    def ping(self) -> None:
        """The health check's probe: one collection listing (a server round trip, or local mode's
        in-process catalogue)."""
        self.list_collections(self.prefix)

    def list_collections(self, prefix: str = "") -> list[str]:
        """Names of the backend's collections starting with `prefix`, sorted."""
        try:
            if self.backend == "qdrant-edge":
                from minirag.vectorstore.edge_store import list_collection_names
            else:
                from minirag.vectorstore.qdrant_client_store import list_collection_names
            names = list_collection_names()
        except Exception as exc:
            raise unavailable(exc) from exc
        return sorted(n for n in names if n.startswith(prefix))


def backend_version(backend: Backend) -> str:
    """The installed client library of `backend` ("qdrant-client 1.x"), read from package metadata
    so that asking does not import it."""
    from importlib.metadata import PackageNotFoundError, version

    package = "qdrant-edge-py" if backend == "qdrant-edge" else "qdrant-client"
    try:
        return f"{backend} ({package} {version(package)})"
    except PackageNotFoundError:
        return f"{backend} ({package} not installed)"


def reset_stores() -> None:
    """Forget the process's qdrant-client client and close its qdrant-edge shards (tests, benches)."""
    from minirag.vectorstore.client import reset_client
    from minirag.vectorstore.edge_store import reset_shards

    reset_shards()
    reset_client()
