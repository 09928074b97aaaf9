"""Ingest building blocks: fetch a source safely, extract its documents, chunk them for embedding.

Heavy parsers (pypdf, python-docx, BeautifulSoup) are imported lazily so that functions which
only chunk or count documents keep a small cold start.
"""
