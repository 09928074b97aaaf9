"""The embedded vector store at scale: 100k chunks in one tenant's bot, 19 more tenants beside it,
filtered hybrid queries while the background HNSW optimisation runs and after it, resident memory.

    .venv/bin/python bench/vector_scale.py                      # 100k + 19 x 5k chunks
    .venv/bin/python bench/vector_scale.py --chunks 20000 --tenants 5 --other-chunks 2000   # quick look

Points go in through `TenantVectorStore.upsert` (what ingest calls) on the default backend
(qdrant-edge, shards on disk in a temp DATA_DIR), with real BM25 sparse vectors of generated text and
384-d dense vectors drawn around 300 topic centres (embedding 200k texts with MiniLM would take
~1 h here and measure the embedder, not the store). Queries go through `TenantVectorStore.search`
exactly as retrieval calls it: hybrid (dense + BM25, RRF), prefetch 100, limit 15, with a metadata
filter (`metadata.lang` = "en" AND `metadata.year` >= 2020, both declared in FILTER_INDEXED_KEYS).

Timing is also given as a ratio to a reference measured in the same run: an exact numpy scan of the
same tenant's dense vectors (one matrix-vector product over 100k x 384 and a top-k), i.e. what a
query would cost with no index at all. Hand-run; prints numbers. Not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = ("turbine blade maintenance refund warranty invoice shipping battery firmware router password rotation "
         "backup restore latency throughput region replica snapshot index payload cluster queue worker retry "
         "timeout deadline budget contract supplier audit policy compliance onboarding payroll travel expense "
         "holiday laptop monitor printer license renewal incident outage escalation ticket customer partner "
         "pricing discount subscription cancellation delivery pickup repair replacement inspection schedule").split()
LANGS = ["en", "de", "fr", "es"]
DIMENSION = 384


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


class Corpus:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.py = random.Random(seed)
        self.centres = self.rng.standard_normal((300, DIMENSION)).astype(np.float32)
        weights = 1 / np.arange(1, len(WORDS) + 1)
        self.word_p = weights / weights.sum()

    def vectors(self, count: int) -> np.ndarray:
        picks = self.rng.integers(0, len(self.centres), count)
        v = self.centres[picks] + 0.6 * self.rng.standard_normal((count, DIMENSION)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def text(self, words: int = 60) -> str:
        return " ".join(self.rng.choice(WORDS, size=words, p=self.word_p))


def fill(store, corpus: Corpus, bot: uuid.UUID, count: int, batch: int = 256) -> float:
    from minirag.vectorstore.sparse import encode_document
    from minirag.vectorstore.store import VectorPoint, point_id

    began = time.perf_counter()
    vectors = corpus.vectors(count)
    sources = [uuid.uuid4() for _ in range(max(1, count // 200))]
    for start in range(0, count, batch):
        points = []
        for i in range(start, min(count, start + batch)):
            text = corpus.text()
            sparse = encode_document(text)
            source = sources[i % len(sources)]
            points.append(VectorPoint(point_id(source, 1, i, 0), vectors[i].tolist(), sparse.indices, sparse.values, {
                "bot_profile_id": str(bot), "source_id": str(source), "document_id": str(uuid.uuid4()),
                "chunk_id": "", "version": 1, "position": 0, "text": text, "title": None,
                "metadata": {"lang": LANGS[i % 4], "year": 2015 + i % 11}, "file_type": "jsonl"}))
        store.upsert(points)
    return time.perf_counter() - began


def allocated_mb(root: Path) -> float:
    """Blocks really used under `root`, as `du` counts them: symlinks (a shard's current generation)
    are not followed, and files qdrant-edge preallocates count only for what they hold."""
    total = 0
    for folder, _dirs, files in os.walk(root):  # os.walk does not follow symlinks
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                total += os.lstat(path).st_blocks * 512
    return total / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks in the measured tenant's bot")
    parser.add_argument("--tenants", type=int, default=20, help="tenants sharing the store (the measured one too)")
    parser.add_argument("--other-chunks", type=int, default=5_000, help="chunks of every other tenant")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="minirag-vector-scale-"))
    os.environ.update(DATA_DIR=str(data_dir), VECTOR_BACKEND="qdrant-edge",
                      FILTER_INDEXED_KEYS="metadata.lang:keyword,metadata.year:integer")
    os.environ.pop("QDRANT_PATH", None)
    os.environ.pop("QDRANT_URL", None)
    from minirag.settings import get_settings
    from minirag.vectorstore import edge_optimizer
    from minirag.vectorstore.filters import parse_filter
    from minirag.vectorstore.indexes import QdrantIndexes
    from minirag.vectorstore.sparse import encode_query

    get_settings.cache_clear()
    settings = get_settings()
    indexes = QdrantIndexes.from_settings(settings)
    corpus = Corpus(args.seed)
    baseline_rss = rss_mb()[0]

    tenant, bot = uuid.uuid4(), uuid.uuid4()
    store = indexes.for_model(tenant, "local/minilm", DIMENSION)
    store.ensure_collection(DIMENSION)
    seconds = fill(store, corpus, bot, args.chunks)
    print(f"measured tenant: {args.chunks} chunks upserted in {seconds:.1f} s ({args.chunks / seconds:.0f}/s), "
          f"backend {settings.vector_backend}, EDGE_OPTIMIZE_MIN_POINTS {settings.edge_optimize_min_points}")
    others = []
    began = time.perf_counter()
    for _ in range(args.tenants - 1):
        other_tenant, other_bot = uuid.uuid4(), uuid.uuid4()
        other = indexes.for_model(other_tenant, "local/minilm", DIMENSION)
        other.ensure_collection(DIMENSION)
        fill(other, corpus, other_bot, args.other_chunks)
        others.append((other, other_bot))
    print(f"{args.tenants - 1} other tenants x {args.other_chunks} chunks upserted in "
          f"{time.perf_counter() - began:.1f} s")

    flt = parse_filter({"and": [{"key": "metadata.lang", "eq": "en"}, {"key": "metadata.year", "gte": 2020}]})
    dense_matrix = np.vstack([np.asarray(p.dense, dtype=np.float32) for batch in store.scroll_points(batch_size=2048)
                              for p in batch])
    query_vectors = corpus.vectors(args.queries)
    query_texts = [" ".join(corpus.py.sample(WORDS, 4)) for _ in range(args.queries)]

    def run(target, target_bot, *, filtered: bool) -> list[float]:
        times = []
        for vector, text in zip(query_vectors, query_texts, strict=True):
            sparse = encode_query(text)
            t0 = time.perf_counter()
            hits = target.search(bot_profile_id=target_bot, dense=vector.tolist(),
                                 sparse=(sparse.indices, sparse.values), limit=15, prefetch_limit=100,
                                 user_filter=flt if filtered else None)
            times.append((time.perf_counter() - t0) * 1000)
            assert hits, "every query finds chunks"
        return times

    def reference() -> list[float]:
        times = []
        for vector in query_vectors:
            t0 = time.perf_counter()
            scores = dense_matrix @ vector
            np.argpartition(-scores, 100)[:100]
            times.append((time.perf_counter() - t0) * 1000)
        return times

    def line(label: str, times: list[float], ref: list[float]) -> None:
        print(f"  {label:<46} p50 {pct(times, 50):7.1f}  p95 {pct(times, 95):7.1f}  p99 {pct(times, 99):7.1f} ms"
              f"   p95 / numpy-scan p95 = {pct(times, 95) / pct(ref, 95):.2f}")

    running = edge_optimizer.optimization_running()
    print(f"\nqueries ({args.queries}), hybrid RRF, limit 15, prefetch 100; background optimisation running: {running}")
    ref = reference()
    print(f"  {'reference: numpy exact dense scan of 100k':<46} p50 {pct(ref, 50):7.1f}  p95 {pct(ref, 95):7.1f}  "
          f"p99 {pct(ref, 99):7.1f} ms")
    if running:
        line("filtered, during the optimisation", run(store, bot, filtered=True), ref)
    began = time.perf_counter()
    while edge_optimizer.optimization_running():
        time.sleep(0.5)
    edge_optimizer.wait_for_optimizations()
    print(f"  (optimisations finished {time.perf_counter() - began:.0f} s later)")
    ref = reference()
    line("filtered hybrid, 100k tenant, optimised", run(store, bot, filtered=True), ref)
    line("unfiltered hybrid, 100k tenant, optimised", run(store, bot, filtered=False), ref)
    other, other_bot = others[0] if others else (store, bot)
    line(f"filtered hybrid, a {args.other_chunks}-chunk tenant", run(other, other_bot, filtered=True), ref)
    current, peak = rss_mb()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    total_points = args.chunks + (args.tenants - 1) * args.other_chunks
    disk = allocated_mb(data_dir / "qdrant-edge")
    print(f"\nresident memory: {current:.0f} MB now, {peak:.0f} MB peak (process start {baseline_rss:.0f} MB) for "
          f"{total_points} points in {args.tenants} tenants' shards; optimiser child peak {children:.0f} MB; "
          f"on disk {disk:.0f} MB")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; data in {data_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
