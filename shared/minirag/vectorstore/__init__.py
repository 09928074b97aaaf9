"""Vector store access. `store.py` is `TenantVectorStore`, which cannot search, count or delete
without its tenant filter, and `open_store()`/`list_collections()`, which pick the backend from
settings (VECTOR_BACKEND): `qdrant_client_store.py` (default; `client.py` builds the qdrant-client
client: server URL, local path or memory) or `edge_store.py` (qdrant-edge, embedded shards)."""
