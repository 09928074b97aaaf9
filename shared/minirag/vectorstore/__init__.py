"""Vector store access. `indexes.py` is the port services receive (`VectorIndexes`: a tenant's store
for one embedding model; `QdrantIndexes` picks the backend from settings, VECTOR_BACKEND). `store.py`
is `TenantVectorStore`, which cannot search, count or delete without its tenant filter; its two
backends are `qdrant_client_store.py` (default; `client.py` builds the qdrant-client client: server
URL, local path or memory) and `edge_store.py` (qdrant-edge, embedded shards). `sparse.py` encodes
BM25 sparse vectors. Importing the package or `indexes`/`store`/`sparse` loads no Qdrant library."""
