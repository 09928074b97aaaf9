"""Chat latency outside the model call, with >= 10,000 chunks in one bot.

    .venv/bin/python bench/chat_latency.py                          # local/minilm, 10,000 chunks
    .venv/bin/python bench/chat_latency.py --embedding local/hash   # cheaper embedder
    .venv/bin/python bench/chat_latency.py --chunks 2000 --turns 50 # quick look
    .venv/bin/python bench/chat_latency.py --vector-backend qdrant  # qdrant-client local mode, for comparison

The corpus (generated product-FAQ-like passages, one chunk each) goes in through the product's own
path: a JSON Lines upload source, POST /v1/sources/{id}/ingest, and the real ingest handler fed
by the in-process queue worker. Chat turns are API Gateway HTTP API events given to the chat
function's real handler (loaded from template.yaml), in-process, with the offline models
(`local/extractive` answers). Half the turns start a chat, half follow up in one (history read +
rewrite call).

Time is split by wrapping the calls: the model (`LLMGateway.complete`: answer and rewrite) is
excluded; the rest is query embedding (`LLMGateway.embed`), the vector search
(`TenantVectorStore.search`: Qdrant local mode unless QDRANT_URL is set, or the embedded
qdrant-edge engine with --vector-backend qdrant-edge), the database (SQL
statements on the cursor plus commits and rollbacks), and everything else (Lambda adapter,
FastAPI, auth, ORM bookkeeping, prompt assembly, citations, logging).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.inprocess import InProcessApi, configure_environment, settle_vector_index  # noqa: E402

PRODUCTS = ["laptop", "phone", "tablet", "monitor", "router", "printer", "camera", "headset", "keyboard", "speaker",
            "charger", "smartwatch", "drone", "projector", "scanner", "console", "television", "dock", "webcam",
            "mouse"]
TOPICS = ["refund", "warranty", "shipping", "repair", "battery", "firmware", "subscription", "invoice", "installation",
          "recycling", "replacement", "insurance", "delivery", "pickup", "upgrade", "trade-in", "support", "pairing"]
REGIONS = ["Germany", "France", "Spain", "Italy", "Poland", "Sweden", "Austria", "Belgium", "Ireland", "Portugal",
           "Norway", "Denmark", "Finland", "Greece", "Czechia", "Hungary"]
PLANS = ["basic", "plus", "business", "enterprise", "student", "family"]
FILLER = ("Customers can check the status in their account at any time. Our team confirms every request by email. "
          "Keep the original receipt and the serial number ready when you contact us.")


def passage(rng: random.Random, index: int) -> dict[str, str]:
    product, topic, region, plan = rng.choice(PRODUCTS), rng.choice(TOPICS), rng.choice(REGIONS), rng.choice(PLANS)
    days, fee = rng.randint(2, 60), rng.randint(5, 250)
    text = (f"{topic.capitalize()} for {product} orders in {region}: customers on the {plan} plan can request a "
            f"{topic} within {days} days. The service fee is {fee} euros and it is handled by the {region} "
            f"{product} desk (case {index}). {FILLER}")
    return {"id": f"doc-{index}", "title": f"{product.capitalize()} {topic} in {region} ({plan})", "text": text}


def question(rng: random.Random) -> str:
    product, topic, region = rng.choice(PRODUCTS), rng.choice(TOPICS), rng.choice(REGIONS)
    return rng.choice([f"How many days do I have for a {product} {topic} in {region}?",
                       f"What is the fee for {topic} of a {product} in {region}?",
                       f"Who handles {product} {topic} requests in {region}?"])


FOLLOW_UPS = ["And what does it cost?", "What about the business plan?", "Is that the same for a tablet?",
              "Which desk handles it?", "And in France?"]


class Timers:
    """Accumulates wall time per component for the turn in progress."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self.depth: dict[str, int] = defaultdict(int)

    @contextmanager
    def measure(self, name: str) -> Iterator[None]:
        self.depth[name] += 1
        started = time.perf_counter()
        try:
            yield
        finally:
            self.depth[name] -= 1
            if self.depth[name] == 0:  # nested calls of one component count once
                self.current[name] += time.perf_counter() - started

    def take(self) -> dict[str, float]:
        taken, self.current = dict(self.current), defaultdict(float)
        return taken


def instrument(timers: Timers) -> None:
    from sqlalchemy import event

    from minirag.db.engine import get_engine
    from minirag.llm.gateway import LLMGateway
    from minirag.vectorstore.store import TenantVectorStore

    def wrap(owner: Any, name: str, component: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            with timers.measure(component):
                return original(*args, **kwargs)

        setattr(owner, name, timed)

    wrap(LLMGateway, "complete", "model")
    wrap(LLMGateway, "embed", "embed")
    wrap(TenantVectorStore, "search", "search")
    engine = get_engine()
    started: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _before(*_: Any) -> None:
        started.append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(*_: Any) -> None:
        timers.current["db"] += time.perf_counter() - started.pop()

    wrap(engine.dialect, "do_commit", "db")
    wrap(engine.dialect, "do_rollback", "db")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def report(title: str, rows: list[dict[str, float]]) -> None:
    print(f"\n{title} ({len(rows)} turns), milliseconds")
    print(f"  {'':<30}{'p50':>9}{'p95':>9}{'p99':>9}{'mean':>9}")
    for key, label in [("outside", "outside the model (total)"), ("embed", "  embed query"),
                       ("search", "  vector search (Qdrant)"), ("db", "  database"), ("rest", "  rest"),
                       ("model", "model calls (excluded)"), ("total", "whole request")]:
        values = [r.get(key, 0.0) * 1000 for r in rows]
        print(f"  {label:<30}{pct(values, 50):>9.1f}{pct(values, 95):>9.1f}{pct(values, 99):>9.1f}"
              f"{statistics.fmean(values):>9.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=200, help="measured turns (after --warmup)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--embedding", default="local/minilm", choices=["local/minilm", "local/hash"])
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--vector-backend", choices=["qdrant", "qdrant-edge"],
                        default=os.environ.get("VECTOR_BACKEND", "qdrant-edge"))
    parser.add_argument("--profile", type=Path, default=None,
                        help="also write a cProfile of the measured turns here (read with pstats)")
    args = parser.parse_args()

    data_dir = configure_environment(EMBEDDING_MODEL=args.embedding, DEFAULT_CHAT_MODEL="local/extractive",
                                     INGEST_BATCH_DOCUMENTS="500", VECTOR_BACKEND=args.vector_backend,
                                     INGEST_MAX_SOURCE_CHUNKS=str(max(5000, args.chunks)),
                                     INGEST_MAX_SOURCE_CHARS=str(max(2_000_000, args.chunks * 600)))
    from minirag.local.events import LambdaContext, http_api_event, response_body_bytes
    from minirag.local.template import load_handler
    from minirag.observability import metrics

    api = InProcessApi()
    rng = random.Random(args.seed)
    token = api.bootstrap("bench")
    bot = api.ok("POST", "/v1/bot-profiles", {"name": "Latency bot", "embedding_model": args.embedding,
                                              "model": "local/extractive", "top_k": args.top_k}, token)
    corpus = b"\n".join(json.dumps(passage(rng, i)).encode() for i in range(args.chunks))

    started = time.perf_counter()
    source_id = api.upload(token, bot["id"], "corpus.jsonl", corpus)
    api.ok("POST", f"/v1/sources/{source_id}/ingest", None, token)
    api.worker().drain()
    metrics.clear_metrics()
    source = api.ok("GET", f"/v1/sources/{source_id}", None, token)
    ingest_seconds = time.perf_counter() - started
    if source["status"] != "ready" or source["progress"]["chunks"] < args.chunks:
        print(f"ingest did not finish: {source}", file=sys.stderr)
        return 1
    index_note = settle_vector_index()

    timers = Timers()
    instrument(timers)
    route, _ = api.template.match("POST", "/v1/chat")
    handler = load_handler(api.template, route.function)
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}

    def turn(message: str, chat_id: str | None) -> tuple[dict[str, Any], dict[str, float]]:
        body = {"bot_profile_id": bot["id"], "message": message, **({"chat_id": chat_id} if chat_id else {})}
        event = http_api_event("POST", "/v1/chat", route_key=route.route_key, headers=headers, body=json.dumps(body))
        timers.take()
        began = time.perf_counter()
        result = handler(event, LambdaContext(function_name="ChatFunction"))
        total = time.perf_counter() - began
        parts = timers.take()
        metrics.clear_metrics()  # disabled here, but Powertools would still print them every 100 turns
        if result["statusCode"] != 200:
            raise RuntimeError(f"chat failed: {result['statusCode']} {response_body_bytes(result)[:300]!r}")
        parts["total"] = total
        parts["outside"] = total - parts.get("model", 0.0)
        parts["rest"] = parts["outside"] - sum(parts.get(k, 0.0) for k in ("embed", "search", "db"))
        return json.loads(response_body_bytes(result)), parts

    chat_id = None
    for i in range(args.warmup):  # imports, model loading, first queries
        answer, _ = turn(question(rng), None if i % 2 == 0 else chat_id)
        chat_id = answer["chat_id"]
    first, follow = [], []
    cited = 0
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    for i in range(args.turns):
        if i % 2 == 0:
            answer, parts = turn(question(rng), None)
            first.append(parts)
            chat_id = answer["chat_id"]
        else:
            answer, parts = turn(rng.choice(FOLLOW_UPS), chat_id)
            follow.append(parts)
        cited += bool(answer["citations"])
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)

    from minirag.vectorstore.client import is_local_mode

    if args.vector_backend == "qdrant-edge":
        vector_label = "qdrant-edge (embedded engine, shards in a temp dir)"
    else:
        vector_label = "Qdrant local mode (in-process, :memory:)" if is_local_mode() else "Qdrant server"
    print(f"chunks in the bot: {source['progress']['chunks']} (ingested through the JSONL upload path in "
          f"{ingest_seconds:.1f} s); embedding {args.embedding}; answers local/extractive; top_k {args.top_k}; "
          f"vector store: {vector_label}; "
          f"database: SQLite (WAL) in {data_dir}")
    print(f"index: {index_note}")
    print(f"turns with citations: {cited}/{args.turns}")
    baseline = _request_overhead(api, token, chat_id, timers)
    print(f"reference: GET /v1/chat/{{id}} through the same handler (adapter, FastAPI, auth, one read): "
          f"p50 {pct(baseline, 50):.1f} ms, p95 {pct(baseline, 95):.1f} ms")
    report("all turns", first + follow)
    report("first turns (new chat)", first)
    report("follow-ups (history + rewrite call)", follow)
    _search_modes(bot, token, rng, args)
    return 0


def _request_overhead(api: InProcessApi, token: str, chat_id: str, timers: Timers) -> list[float]:
    """What any request through the chat handler costs: the floor under the chat numbers."""
    from minirag.local.events import LambdaContext, http_api_event
    from minirag.local.template import load_handler

    route, params = api.template.match("GET", f"/v1/chat/{chat_id}")
    handler = load_handler(api.template, route.function)
    times = []
    for _ in range(50):
        event = http_api_event("GET", f"/v1/chat/{chat_id}", route_key=route.route_key, path_parameters=params,
                               headers={"authorization": f"Bearer {token}"})
        began = time.perf_counter()
        handler(event, LambdaContext(function_name="ChatFunction"))
        times.append((time.perf_counter() - began) * 1000)
    timers.take()
    return times


def _search_modes(bot: dict[str, Any], token: str, rng: random.Random, args: argparse.Namespace) -> None:
    """The vector search alone, by mode, on the same collection (same calls as retrieval)."""
    import uuid

    from minirag.llm.gateway import get_gateway
    from minirag.settings import get_settings
    from minirag.vectorstore.indexes import QdrantIndexes
    from minirag.vectorstore.sparse import encode_query

    tenant_id = uuid.UUID(InProcessApi().ok("GET", "/v1/tenants/me", None, token)["tenant"]["id"])
    queries = [question(rng) for _ in range(30)]
    vectors = get_gateway().embed(queries, model=args.embedding)
    store = QdrantIndexes.from_settings(get_settings()).for_model(tenant_id, args.embedding, len(vectors[0]))
    print("\nvector search alone (30 queries), milliseconds")
    for mode in ("dense", "sparse", "hybrid"):
        times = []
        for text, vector in zip(queries, vectors, strict=True):
            sparse = encode_query(text)
            began = time.perf_counter()
            store.search(bot_profile_id=uuid.UUID(bot["id"]), dense=vector if mode != "sparse" else None,
                         sparse=(sparse.indices, sparse.values) if mode != "dense" else None,
                         limit=args.top_k + 10, prefetch_limit=100)
            times.append((time.perf_counter() - began) * 1000)
        print(f"  {mode:<8} p50 {pct(times, 50):7.1f}   p95 {pct(times, 95):7.1f}")


if __name__ == "__main__":
    raise SystemExit(main())
