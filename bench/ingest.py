"""Ingest throughput through the product's own path, against the raw embedder on the same chunks.

    .venv/bin/python bench/ingest.py [--documents 900] [--words 330] [--models local/hash local/minilm]

For each embedding model: a temp DATA_DIR (SQLite, qdrant-edge (the embedded default) in a temp
folder, in-process queue, local upload storage), a tenant bootstrapped through `POST /v1/tenants`, a
bot using the model, and a generated corpus uploaded as one JSON Lines source (signed PUT), ingested
by `POST .../ingest` and the local runner's worker calling the real ingest handler with SQS events
(plan, fan-out slices, extract, chunk, embed, sparse-encode, Qdrant upsert, rows). Then the chunk
texts the pipeline produced are embedded again straight through `LLMGateway.embed`, so the
pipeline's overhead over the embedder shows as a ratio. Model loading and LiteLLM's import are
warmed up first and not timed.

Hand-run; prints numbers. Not a test (speed is not asserted anywhere).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

WORDS = (
    "retrieval augmented generation grounds answers in documents that a tenant uploads and the system "
    "splits them into chunks embeds each chunk stores dense and sparse vectors and at question time fuses "
    "both rankings before a model writes a cited answer while rate limits quotas and audit logs keep every "
    "tenant isolated from the others in storage and search invoices refunds warranty shipping battery "
    "router firmware password rotation single sign-on export import backup restore latency throughput "
    "region replica snapshot index payload cluster queue worker retry timeout deadline budget"
).split()


def _environment(data_dir: Path) -> None:
    from minirag.local.invoke import sandbox_environment

    # The corpus is one source: the per-source limits are lifted for it (they are quotas, not what is measured).
    sandbox_environment(os.environ, data_dir, DATABASE_URL=f"sqlite:///{data_dir / 'bench.db'}",
                        POWERTOOLS_LOG_LEVEL="ERROR", INGEST_MAX_SOURCE_CHARS="50000000",
                        INGEST_MAX_SOURCE_CHUNKS="100000")


def corpus(documents: int, words: int, seed: int = 7) -> bytes:
    """JSON Lines: `documents` pseudo-prose documents of about `words` words in 60-word paragraphs."""
    rng = random.Random(seed)
    lines = []
    for i in range(documents):
        paragraphs = []
        remaining = words
        while remaining > 0:
            size = min(remaining, 60)
            sentence_words = [rng.choice(WORDS) for _ in range(size)]
            paragraphs.append(" ".join(sentence_words).capitalize() + ".")
            remaining -= size
        lines.append(json.dumps({"id": f"doc-{i}", "title": f"Document {i}", "text": "\n\n".join(paragraphs),
                                 "metadata": {"n": i}}))
    return ("\n".join(lines) + "\n").encode()


class Client:
    """Calls the real handler of each route in template.yaml with API Gateway v2 events."""

    def __init__(self) -> None:
        from minirag.local.template import load_template

        self.template = load_template(str(ROOT / "template.yaml"))

    def __call__(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        from minirag.local.invoke import invoke

        headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
        result = invoke(self.template, method, path, headers=headers,
                        body=json.dumps(body) if body is not None else None)
        return result.status, result.json


def run(model: str, data: bytes, documents: int) -> dict[str, float]:
    from urllib.parse import urlparse

    from minirag.cli import build_worker
    from minirag.db.engine import get_session_factory
    from minirag.db.models import Chunk
    from minirag.db.scope import TenantScope
    from minirag.llm.gateway import get_gateway
    from minirag.settings import get_settings
    from minirag.storage.uploads import LOCAL_UPLOAD_PATH, get_storage

    api = Client()
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    status, tenant = api("POST", "/v1/tenants", {"tenant_name": "Bench", "tenant_slug": slug,
                                                 "owner_email": f"owner@{slug}.example.com",
                                                 "owner_password": "bench-password-long-enough"})
    assert status == 201, tenant
    token = tenant["raw_token"]
    status, bot = api("POST", "/v1/bot-profiles", {"name": f"bench {model}", "system_prompt": "x",
                                                   "embedding_model": model}, token)
    assert status == 201, bot
    def upload_source(name: str, payload: bytes) -> dict[str, Any]:
        status, source = api("POST", "/v1/sources", {"bot_profile_id": bot["id"], "name": name,
                                                     "source_type": "upload", "filename": f"{name}.jsonl"}, token)
        assert status == 201, source
        storage = get_storage()
        key, _ = storage.verify_token(urlparse(source["upload"]["url"]).path.removeprefix(LOCAL_UPLOAD_PATH))
        storage.write(key, payload)  # what the local runner's PUT endpoint does with the body
        return source

    gateway = get_gateway()
    worker = build_worker(api.template, get_settings())
    # Not timed: LiteLLM's import, the model load, Qdrant's client and the parsers' imports, paid
    # once per process (a cold start), by ingesting a small source first.
    warm = upload_source("warm-up", corpus(3, 50, seed=1))
    assert api("POST", f"/v1/sources/{warm['id']}/ingest", None, token)[0] == 202
    worker.drain()
    gateway.embed(["warm up"], model=model)

    source = upload_source("corpus", data)
    started = time.perf_counter()
    status, queued = api("POST", f"/v1/sources/{source['id']}/ingest", None, token)
    assert status == 202, queued
    messages = worker.drain()
    pipeline = time.perf_counter() - started

    status, ready = api("GET", f"/v1/sources/{source['id']}", None, token)
    assert ready["status"] == "ready", ready
    assert ready["progress"]["documents_done"] == documents
    chunks = ready["progress"]["chunks"]

    with get_session_factory()() as session:
        scope = TenantScope(session, uuid.UUID(tenant["tenant"]["id"]))
        texts = list(scope.scalars(scope.select(Chunk).where(Chunk.source_id == uuid.UUID(source["id"]))
                                   .order_by(Chunk.document_id, Chunk.position).with_only_columns(Chunk.text)))
    assert len(texts) == chunks
    started = time.perf_counter()
    gateway.embed(texts, model=model, input_type="document")  # as ingestion asks
    raw = time.perf_counter() - started
    return {"documents": documents, "chunks": chunks, "messages": messages, "pipeline_s": pipeline, "embed_s": raw}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=950)
    parser.add_argument("--words", type=int, default=330, help="words per document (about 2-3 chunks each)")
    parser.add_argument("--models", nargs="+", default=["local/hash", "local/minilm"])
    parser.add_argument("--batch-documents", type=int, default=None, help="INGEST_BATCH_DOCUMENTS (default: settings)")
    parser.add_argument("--prepare-minilm", action="store_true",
                        help="first write the re-optimised MiniLM into DATA_DIR/models (one-time, not timed), "
                             "as `bench/prepare_minilm.py` does; default: the shipped model")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="minirag-bench-"))
    sys.path.insert(0, str(ROOT / "shared"))
    _environment(data_dir)
    if args.batch_documents:
        os.environ["INGEST_BATCH_DOCUMENTS"] = str(args.batch_documents)
    from minirag.db.migrate import upgrade
    from minirag.settings import get_settings

    upgrade(get_settings().resolved_database_url)
    if args.prepare_minilm:
        from bench.prepare_minilm import prepare_minilm

        report = prepare_minilm(get_settings().data_dir / "models")
        print(f"MiniLM preparation: {report.selected} model ({report.reason})")
    data = corpus(args.documents, args.words)
    print(f"corpus: {args.documents} JSON Lines documents of ~{args.words} words ({len(data) / 1e6:.1f} MB); "
          f"DATA_DIR {data_dir}, SQLite, {get_settings().vector_backend} (temp folder), in-process queue, "
          f"INGEST_BATCH_DOCUMENTS={get_settings().ingest_batch_documents}, {os.cpu_count()} CPUs\n")
    header = (f"{'embedder':<14} {'docs':>5} {'chunks':>6} {'msgs':>4} {'pipeline s':>10} {'docs/s':>8} "
              f"{'chunks/s':>9} {'raw embed chunks/s':>19} {'pipeline/embed':>15}")
    print(header)
    print("-" * len(header))
    for model in args.models:
        r = run(model, data, args.documents)
        if r["chunks"] < 2000:
            print(f"(only {r['chunks']} chunks: raise --documents or --words for a 2,000-chunk corpus)")
        print(f"{model:<14} {r['documents']:>5} {r['chunks']:>6} {r['messages']:>4} {r['pipeline_s']:>10.2f} "
              f"{r['documents'] / r['pipeline_s']:>8.1f} {r['chunks'] / r['pipeline_s']:>9.1f} "
              f"{r['chunks'] / r['embed_s']:>19.1f} {r['pipeline_s'] / r['embed_s']:>14.2f}x", flush=True)
    print("\npipeline = POST ingest → source ready (plan + fan-out slices through the real handler); "
          "raw embed = LLMGateway.embed on the same chunk texts; pipeline/embed = time ratio.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
