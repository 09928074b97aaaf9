"""Retrieval quality on BEIR SciFact through the product's own paths.

Ingests the corpus as one JSON Lines upload source (tenant → bot → upload → ingest via the real
ingest handler and queue) with the offline embedder, then runs the queries through POST
/v1/retrieve (the chat function's handler) in dense, sparse and hybrid mode, and prints nDCG@10 and
Recall@100 at document level (a document's rank is that of its best chunk).

    .venv/bin/python bench/retrieval_eval.py                      # test split, all three modes
    .venv/bin/python bench/retrieval_eval.py --split train        # tune on train only
    .venv/bin/python bench/retrieval_eval.py --limit-docs 500     # a quick smoke run

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

from bench.inprocess import ROOT, InProcessApi, configure_environment  # noqa: E402

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", default="test", help="test, train, or both as 'train,test' (one ingest)")
    parser.add_argument("--limit-docs", type=int, default=None)
    parser.add_argument("--model", default="local/minilm")
    parser.add_argument("--chunk-tokens", type=int, default=None, help="bot chunk size (default: the bot default)")
    parser.add_argument("--modes", default="dense,sparse,hybrid")
    parser.add_argument("--top-k", type=int, default=100)
    parser.add_argument("--vector-backend", default=None, choices=["qdrant", "qdrant-edge"],
                        help="default: $VECTOR_BACKEND or qdrant (qdrant-client local mode)")
    parser.add_argument("--models-dir", default=str(ROOT / ".minirag" / "models"),
                        help="where `minirag models prepare` left the optimised MiniLM (falls back to the shipped one)")
    args = parser.parse_args()

    extra = {"VECTOR_BACKEND": args.vector_backend} if args.vector_backend else {}
    # The whole corpus is one source: an operator's per-source caps for a corpus this size (the
    # defaults, 2M characters / 5,000 chunks, are for what tenants upload on a shared worker).
    configure_environment(EMBEDDING_MODEL=args.model, INGEST_BATCH_DOCUMENTS="256",
                          INGEST_MAX_SOURCE_CHARS="20000000", INGEST_MAX_SOURCE_CHUNKS="100000", **extra)
    from minirag.llm.gateway import get_gateway

    get_gateway().models_dir = args.models_dir
    api = InProcessApi()
    token = api.bootstrap("scifact")
    bot_body = {"name": "SciFact", "embedding_model": args.model, "min_score": 0.0}
    if args.chunk_tokens:
        bot_body["chunk_tokens"] = args.chunk_tokens
    bot = api.ok("POST", "/v1/bot-profiles", bot_body, token)

    docs = load_corpus(args.data, args.limit_docs)
    corpus = "\n".join(json.dumps({"id": d["id"], "title": d["title"], "text": d["text"]}) for d in docs).encode()
    source_id = api.upload(token, bot["id"], "scifact.jsonl", corpus, name="SciFact corpus")
    started = time.perf_counter()
    api.ok("POST", f"/v1/sources/{source_id}/ingest", token=token)
    api.worker().drain()
    ingest_seconds = time.perf_counter() - started
    source = api.ok("GET", f"/v1/sources/{source_id}", token=token)
    if source["status"] != "ready":
        print(f"ingest did not finish: {source['status']} {source['last_error']}", file=sys.stderr)
        return 1
    chunks = source["progress"]["chunks"]
    print(f"ingested {source['progress']['documents_done']} documents as {chunks} chunks in {ingest_seconds:.1f} s "
          f"({source['progress']['documents_done'] / ingest_seconds:.1f} docs/s) with {args.model}")

    for split in args.split.split(","):
        evaluate(api, token, bot["id"], args, docs, chunks, split.strip())
    return 0


def evaluate(api: InProcessApi, token: str, bot_id: str, args: argparse.Namespace, docs: list[dict],
             chunks: int, split: str) -> None:
    qrels = load_qrels(args.data, split)
    doc_ids = {d["id"] for d in docs}
    if args.limit_docs:
        qrels = {q: rel & doc_ids for q, rel in qrels.items() if rel & doc_ids}
    queries = load_queries(args.data, set(qrels))
    rows = []
    for mode in args.modes.split(","):
        ndcgs, recalls = [], []
        started = time.perf_counter()
        for query_id, text in queries.items():
            result = api.ok("POST", "/v1/retrieve", {"bot_profile_id": bot_id, "query": text,
                                                     "top_k": args.top_k, "mode": mode}, token)
            ranked = list(dict.fromkeys(hit["external_id"] for hit in result["data"]))
            ndcgs.append(ndcg_at(ranked, qrels[query_id]))
            recalls.append(recall_at(ranked, qrels[query_id]))
        per_query_ms = (time.perf_counter() - started) / max(1, len(queries)) * 1000
        rows.append((mode, sum(ndcgs) / len(ndcgs), sum(recalls) / len(recalls), per_query_ms))

    print(f"\nSciFact {split} ({len(queries)} queries, {len(docs)} docs, {chunks} chunks, {args.model})")
    print(f"{'mode':<8} {'nDCG@10':>8} {'Recall@100':>11} {'ms/query':>9}")
    for mode, ndcg, recall, ms in rows:
        print(f"{mode:<8} {ndcg:>8.3f} {recall:>11.3f} {ms:>9.1f}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
