"""Fairness between tenants (issue 10, item 8), run by hand:

    PYTHONPATH=shared python -m bench.fairness [--documents 2000] [--model local/minilm]

Tenant A ingests a JSON Lines upload of N one-chunk documents (fanned out into slices of 64); once
its slices wait on the queue, tenant B asks for a one-chunk text source. The local runner's worker
(the real ingest handler over the embedded durable queue, round-robin across tenants) runs in its
thread as under `minirag dev`. Prints how long B waited for `ready` and how long A took."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any
from urllib.parse import urlparse

from bench.inprocess import InProcessApi, configure_environment


def _wait(check, timeout: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if check():
            return time.perf_counter() - started
        time.sleep(0.05)
    raise TimeoutError("not ready in time")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--model", default="local/hash", help="embedding model (local/minilm is the real default)")
    args = parser.parse_args()
    configure_environment(EMBEDDING_MODEL=args.model, POWERTOOLS_LOG_LEVEL="ERROR")

    from minirag.cli import build_worker
    from minirag.settings import get_settings
    from minirag.storage.uploads import LOCAL_UPLOAD_PATH, get_storage

    api = InProcessApi()
    token_a, token_b = api.bootstrap("tenant-a"), api.bootstrap("tenant-b")
    bot_a = api.ok("POST", "/v1/bot-profiles", {"name": "A", "embedding_model": args.model}, token_a)
    bot_b = api.ok("POST", "/v1/bot-profiles", {"name": "B", "embedding_model": args.model}, token_b)
    big = api.ok("POST", "/v1/sources", {"bot_profile_id": bot_a["id"], "name": "big", "source_type": "upload",
                                         "filename": "big.jsonl"}, token_a)
    storage = get_storage()
    key, _ = storage.verify_token(urlparse(big["upload"]["url"]).path.removeprefix(LOCAL_UPLOAD_PATH))
    storage.write(key, "\n".join(json.dumps({"id": f"d{i}", "text": f"Document {i} explains topic {i} in a few "
                                             "words about refunds, delivery and warranty."})
                                 for i in range(args.documents)).encode())
    small = api.ok("POST", "/v1/sources", {"bot_profile_id": bot_b["id"], "name": "small", "source_type": "text",
                                           "content": "Refunds take 14 days."}, token_b)

    def source(token: str, source_id: str) -> dict[str, Any]:
        return api.ok("GET", f"/v1/sources/{source_id}", None, token)

    worker = build_worker(api.template, get_settings())
    # Not timed: the first ingest of a process pays imports and each tenant's first collection
    # (~10 s here); both tenants warm up with a tiny source first, as a running server has.
    warm_up_seconds = time.perf_counter()
    for token, bot in ((token_a, bot_a), (token_b, bot_b)):
        warm = api.ok("POST", "/v1/sources", {"bot_profile_id": bot["id"], "name": "warm", "source_type": "text",
                                              "content": "Warm up."}, token)
        api.ok("POST", f"/v1/sources/{warm['id']}/ingest", None, token)
    worker.drain()
    warm_up_seconds = time.perf_counter() - warm_up_seconds
    worker.start(poll_seconds=0.2)
    try:
        started = time.perf_counter()
        api.ok("POST", f"/v1/sources/{big['id']}/ingest", None, token_a)
        _wait(lambda: source(token_a, big["id"])["progress"]["batches_total"] > 1, 600)
        b_asked = time.perf_counter()
        api.ok("POST", f"/v1/sources/{small['id']}/ingest", None, token_b)
        b_wait = _wait(lambda: source(token_b, small["id"])["status"] == "ready", 600)
        a_at_b = source(token_a, big["id"])["progress"]
        _wait(lambda: source(token_a, big["id"])["status"] == "ready", 3600)
        a_total = time.perf_counter() - started
    finally:
        worker.stop(timeout=5)
    a_done = source(token_a, big["id"])["progress"]
    print(f"model {args.model}; tenant A: {args.documents} documents, {a_done['chunks']} chunks in "
          f"{a_done['batches_total']} slices")
    print(f"tenant B's 1-chunk source ready {b_wait:.2f} s after its ingest request "
          f"(asked {b_asked - started:.2f} s into A's ingest; A had {a_at_b['batches_done']}/"
          f"{a_at_b['batches_total']} slices done then)")
    print(f"tenant A ready after {a_total:.2f} s (warm-up before, not timed: {warm_up_seconds:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
