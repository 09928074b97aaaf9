"""Documents: fetch a source safely (fetch), name its format (formats), turn it into documents with
sections (extract: convert/ for single documents, batches for jsonl and zip), chunk them (chunking).

Heavy parsers (pypdf, python-docx, BeautifulSoup) are imported lazily so that functions which
only chunk or count documents keep a small cold start.
"""
