"""Retrieval helpers: sparse (BM25) term vectors for Qdrant's sparse vectors."""
