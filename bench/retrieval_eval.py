"""Retrieval quality on BEIR SciFact through the product's own paths.

Ingests the corpus as one JSON Lines upload source (tenant → bot → upload → ingest via the real
ingest handler and queue) with the offline embedder, then runs the queries through POST
/v1/retrieve (the chat function's handler) in dense, sparse and hybrid mode, and prints nDCG@10 and
Recall@100 at document level (a document's rank is that of its best chunk). With several models
(``--models``/``--compare-e5``) each gets its own bot and ingest in the same run, and the run ends
with their throughput side by side: ingest docs/s through the pipeline, the embedder's own docs/s
on the first 128 documents, and ms per query embedding, as ratios to the first model.

    .venv/bin/python bench/retrieval_eval.py                      # test split, all three modes
    .venv/bin/python bench/retrieval_eval.py --split train        # tune on train only
    .venv/bin/python bench/retrieval_eval.py --limit-docs 500     # a quick smoke run
    .venv/bin/python bench/retrieval_eval.py --compare-e5         # + local/e5-small (dense, hybrid),
                                                                  # throughput ratios (~1 h on 2 cores)

Data: ../shared/eval/scifact (never copied into the repo). Rules: tune on train, report on test.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.inprocess import ROOT, InProcessApi, configure_environment, settle_vector_index  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "eval" / "scifact"


def load_corpus(data_dir: Path, limit: int | None) -> list[dict]:
    docs = []
    with open(data_dir / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            docs.append({"id": row["_id"], "title": row.get("title", ""), "text": row.get("text", "")})
            if limit and len(docs) >= limit:
                break
    return docs


def load_qrels(data_dir: Path, split: str) -> dict[str, set[str]]:
    qrels: dict[str, set[str]] = defaultdict(set)
    with open(data_dir / "qrels" / f"{split}.tsv", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        next(reader)
        for query_id, doc_id, score in reader:
            if int(score) > 0:
                qrels[query_id].add(doc_id)
    return qrels


def load_queries(data_dir: Path, ids: set[str]) -> dict[str, str]:
    queries = {}
    with open(data_dir / "queries.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["_id"] in ids:
                queries[row["_id"]] = row["text"]
    return queries


def ndcg_at(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def recall_at(ranked: list[str], relevant: set[str], k: int = 100) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


E5 = "local/e5-small"
MINILM = "local/minilm"
THROUGHPUT_SAMPLE = 128  # documents embedded alone per model (the model's own speed, no pipeline)
LATENCY_SAMPLE = 50  # queries embedded one at a time per model


def parse_models(value: str, default_modes: str) -> list[tuple[str, list[str]]]:
    """``model[:mode+mode],...`` → [(model, modes)]; a model without ``:`` runs `default_modes`."""
    out = []
    for item in value.split(","):
        model, _, modes = item.strip().partition(":")
        out.append((model, (modes or default_modes.replace(",", "+")).split("+")))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", default="test", help="test, train, or both as 'train,test' (one ingest)")
    parser.add_argument("--limit-docs", type=int, default=None)
    parser.add_argument("--subset-docs", type=int, default=None,
                        help="a pooled subset of N documents: every document relevant to a query of --split, "
                             "then seeded random others (for slow models; easier than the whole corpus)")
    parser.add_argument("--model", default=MINILM)
    parser.add_argument("--models", default=None,
                        help="several models in one run, each its own bot and ingest, e.g. "
                             "'local/e5-small:dense+hybrid,local/minilm' (a model without ':' runs --modes); "
                             "prints docs/s of each and the ratios to the first")
    parser.add_argument("--compare-e5", action="store_true",
                        help=f"shorthand for --models {E5}:dense+hybrid,{MINILM} (e5 first: it is the slow one)")
    parser.add_argument("--chunk-tokens", type=int, default=None, help="bot chunk size (default: the bot default)")
    parser.add_argument("--modes", default="dense,sparse,hybrid")
    parser.add_argument("--top-k", type=int, default=100)
    parser.add_argument("--rrf-k", default=None,
                        help="comma-separated RRF k values: hybrid is evaluated once per value after one ingest "
                             "(tune on --split train only); default: the product's RRF_K")
    parser.add_argument("--vector-backend", default=None, choices=["qdrant", "qdrant-edge"],
                        help="default: $VECTOR_BACKEND or qdrant (qdrant-client local mode)")
    parser.add_argument("--models-dir", default=str(ROOT / ".minirag" / "models"),
                        help="where `minirag models prepare` left the optimised MiniLM (falls back to the shipped one)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here (after each model)")
    args = parser.parse_args()
    if args.compare_e5:
        args.models = f"{E5}:dense+hybrid,{MINILM}"
    runs = parse_models(args.models, args.modes) if args.models else [(args.model, args.modes.split(","))]

    extra = {"VECTOR_BACKEND": args.vector_backend} if args.vector_backend else {}
    # The whole corpus is one source: an operator's per-source caps for a corpus this size (the
    # defaults, 2M characters / 5,000 chunks, are for what tenants upload on a shared worker).
    configure_environment(EMBEDDING_MODEL=runs[0][0], INGEST_BATCH_DOCUMENTS="256",
                          INGEST_MAX_SOURCE_CHARS="20000000", INGEST_MAX_SOURCE_CHUNKS="100000",
                          LIMIT_REQUESTS_PER_MINUTE="1000000", **extra)  # the queries are one token's
    from minirag.llm.gateway import get_gateway

    get_gateway().models_dir = args.models_dir
    api = InProcessApi()
    token = api.bootstrap("scifact")
    docs = load_corpus(args.data, args.limit_docs)
    if args.subset_docs:
        docs = pooled_subset(docs, args.data, args.split, args.subset_docs)
    corpus = "\n".join(json.dumps({"id": d["id"], "title": d["title"], "text": d["text"]}) for d in docs).encode()

    results: list[dict] = []
    for model, modes in runs:
        speed = embedder_speed(model, docs, load_queries(args.data, set(load_qrels(args.data, "test"))))
        bot_body = {"name": f"SciFact {model}", "embedding_model": model, "min_score": 0.0}
        if args.chunk_tokens:
            bot_body["chunk_tokens"] = args.chunk_tokens
        bot = api.ok("POST", "/v1/bot-profiles", bot_body, token)
        source_id = api.upload(token, bot["id"], "scifact.jsonl", corpus, name="SciFact corpus")
        started = time.perf_counter()
        api.ok("POST", f"/v1/sources/{source_id}/ingest", token=token)
        api.worker().drain()
        ingest_seconds = time.perf_counter() - started
        print(f"index: {settle_vector_index()}", flush=True)
        source = api.ok("GET", f"/v1/sources/{source_id}", token=token)
        if source["status"] != "ready":
            print(f"ingest did not finish: {source['status']} {source['last_error']}", file=sys.stderr)
            return 1
        chunks = source["progress"]["chunks"]
        done = source["progress"]["documents_done"]
        result = {"model": model, "documents": done, "chunks": chunks, "ingest_seconds": ingest_seconds,
                  "ingest_docs_per_s": done / ingest_seconds, **speed, "splits": {}}
        print(f"ingested {done} documents as {chunks} chunks in {ingest_seconds:.1f} s "
              f"({result['ingest_docs_per_s']:.1f} docs/s) with {model}; the embedder alone: "
              f"{speed['embed_docs_per_s']:.1f} docs/s, {speed['query_ms']:.1f} ms per query", flush=True)
        for split in args.split.split(","):
            result["splits"][split.strip()] = evaluate(api, token, bot["id"], args, docs, chunks, split.strip(),
                                                       model=model, modes=modes)
        results.append(result)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    if len(results) > 1:
        print_speed(results)
    return 0


def pooled_subset(docs: list[dict], data_dir: Path, splits: str, size: int) -> list[dict]:
    """Every document some query of `splits` judges relevant, then others drawn with a fixed seed,
    in corpus order: the same subset for every model of a run and every run."""
    import random

    qrels = [load_qrels(data_dir, split.strip()) for split in splits.split(",")]
    relevant: set[str] = set().union(*(rel for split_qrels in qrels for rel in split_qrels.values()))
    others = [d["id"] for d in docs if d["id"] not in relevant]
    keep = relevant | set(random.Random(12).sample(others, max(0, min(len(others), size - len(relevant)))))
    return [d for d in docs if d["id"] in keep]


def embedder_speed(model: str, docs: list[dict], queries: dict[str, str]) -> dict[str, float]:
    """The model's own speed through the gateway (what ingestion and retrieval call): documents in
    one batch as ingestion sends them, then queries one at a time as retrieval does."""
    from minirag.llm.gateway import get_gateway

    gateway = get_gateway()
    sample = [f"{d['title']}\n{d['text']}" if d["title"] else d["text"] for d in docs[:THROUGHPUT_SAMPLE]]
    gateway.embed(sample[:2], model=model, input_type="document")  # load the model outside the timing
    started = time.perf_counter()
    gateway.embed(sample, model=model, input_type="document")
    embed_seconds = time.perf_counter() - started
    texts = list(queries.values())[:LATENCY_SAMPLE]
    started = time.perf_counter()
    for text in texts:
        gateway.embed([text], model=model, input_type="query")
    query_ms = (time.perf_counter() - started) / max(1, len(texts)) * 1000
    return {"embed_docs_per_s": len(sample) / embed_seconds, "query_ms": query_ms}


def print_speed(results: list[dict]) -> None:
    base = results[0]
    print(f"\nThroughput, same run (ratios to {base['model']})")
    print(f"{'model':<16} {'ingest docs/s':>13} {'embed docs/s':>13} {'ms/query':>9} {'ingest ×':>9} {'embed ×':>8} "
          f"{'query ×':>8}")
    for r in results:
        print(f"{r['model']:<16} {r['ingest_docs_per_s']:>13.2f} {r['embed_docs_per_s']:>13.2f} {r['query_ms']:>9.1f} "
              f"{r['ingest_docs_per_s'] / base['ingest_docs_per_s']:>9.2f} "
              f"{r['embed_docs_per_s'] / base['embed_docs_per_s']:>8.2f} {r['query_ms'] / base['query_ms']:>8.2f}")


def evaluate(api: InProcessApi, token: str, bot_id: str, args: argparse.Namespace, docs: list[dict],
             chunks: int, split: str, *, model: str, modes: list[str]) -> dict[str, dict[str, float]]:
    qrels = load_qrels(args.data, split)
    doc_ids = {d["id"] for d in docs}
    if args.limit_docs or args.subset_docs:
        qrels = {q: rel & doc_ids for q, rel in qrels.items() if rel & doc_ids}
    queries = load_queries(args.data, set(qrels))
    from minirag.services import retrieval

    runs = [(mode, None) for mode in modes]
    if args.rrf_k:
        runs = [(m, None) for m in modes if m != "hybrid"] + [("hybrid", int(k)) for k in args.rrf_k.split(",")]
    rows = []
    product_k = retrieval.RRF_K
    for mode, rrf_k in runs:
        retrieval.RRF_K = rrf_k or product_k  # read at each query (services/retrieval.py)
        label = mode if rrf_k is None else f"{mode} k={rrf_k}"
        ndcgs, recalls = [], []
        started = time.perf_counter()
        for query_id, text in queries.items():
            result = api.ok("POST", "/v1/retrieve", {"bot_profile_id": bot_id, "query": text,
                                                     "top_k": args.top_k, "mode": mode}, token)
            ranked = list(dict.fromkeys(hit["external_id"] for hit in result["data"]))
            ndcgs.append(ndcg_at(ranked, qrels[query_id]))
            recalls.append(recall_at(ranked, qrels[query_id]))
        per_query_ms = (time.perf_counter() - started) / max(1, len(queries)) * 1000
        rows.append((label, sum(ndcgs) / len(ndcgs), sum(recalls) / len(recalls), per_query_ms))
    retrieval.RRF_K = product_k

    print(f"\nSciFact {split} ({len(queries)} queries, {len(docs)} docs, {chunks} chunks, {model})")
    print(f"{'mode':<12} {'nDCG@10':>8} {'Recall@100':>11} {'ms/query':>9}")
    for mode, ndcg, recall, ms in rows:
        print(f"{mode:<12} {ndcg:>8.4f} {recall:>11.3f} {ms:>9.1f}", flush=True)
    return {mode: {"ndcg@10": ndcg, "recall@100": recall, "ms_per_query": ms} for mode, ndcg, recall, ms in rows}


if __name__ == "__main__":
    raise SystemExit(main())
