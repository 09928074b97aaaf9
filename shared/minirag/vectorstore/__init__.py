"""Qdrant access: `client.py` builds the client from settings (server URL, local path or memory);
`store.py` is `TenantVectorStore`, which cannot search, count or delete without its tenant filter."""
