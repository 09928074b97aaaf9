"""Raw embedding throughput of the offline MiniLM model, shipped vs optimised, direct vs LiteLLM.

    PYTHONPATH=shared .venv/bin/python bench/embedder.py [--models-dir DIR] [--threads 2]

Prepares the optimised model in ``--models-dir`` first if it is not there (one-time, ~20 s).
Prints chunks/s for ~250-token and ~40-token chunks, ms per short query, the same through
``litellm.embedding(model="local/minilm")``, and BM25 sparse encoding speed for reference.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.prepare_minilm import prepare_minilm  # noqa: E402
from minirag.llm import offline  # noqa: E402
from minirag.llm.offline import MiniLMEmbedder, register_offline_providers  # noqa: E402
from minirag.vectorstore import sparse  # noqa: E402

WORDS = (
    "retrieval augmented generation grounds answers in documents that a tenant uploads and the "
    "system splits them into chunks embeds each chunk stores dense and sparse vectors and at "
    "question time fuses both rankings before a model writes a cited answer while rate limits "
    "quotas and audit logs keep every tenant isolated from the others in storage and search"
).split()
QUERIES = [
    "How long do refunds take?",
    "What is the refund window for laptops?",
    "Which plans include single sign-on?",
    "How do I rotate an API key?",
    "Does the service support PDF uploads?",
] * 10


def chunks(count: int, words: int) -> list[str]:
    """Varied pseudo-text so that padding and sorting behave as with real chunks."""
    out = []
    for i in range(count):
        length = words + (i * 7) % (words // 4 + 1) - words // 8
        out.append(" ".join(WORDS[(i * 13 + j * 5) % len(WORDS)] for j in range(length)) + ".")
    return out


def rate(fn: Callable[[], object], items: int, repeats: int = 3) -> float:
    """Best items/second over ``repeats`` runs (noise on a shared 2-core machine is one-sided)."""
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = max(best, items / (time.perf_counter() - start))
    return best


def query_ms(embed: Callable[[Sequence[str]], object]) -> float:
    timings = []
    for query in QUERIES:
        start = time.perf_counter()
        embed([query])
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def print_row(
    name: str, path: str, embed: Callable[[Sequence[str]], object], long: list[str], short: list[str]
) -> None:
    long_rate = rate(lambda: embed(long), len(long))
    short_rate = rate(lambda: embed(short), len(short))
    print(f"{name:<10} {path:<8} {long_rate:>14.1f} {short_rate:>15.1f} {query_ms(embed):>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models-dir", default=None, help="optimised model cache (default: temp dir)")
    parser.add_argument("--threads", type=int, default=offline.DEFAULT_THREADS)
    parser.add_argument("--chunks", type=int, default=64)
    args = parser.parse_args()

    models_dir = args.models_dir or tempfile.mkdtemp(prefix="minirag-models-")
    report = prepare_minilm(models_dir, threads=args.threads)
    print(f"preparation: selected={report.selected} ({report.reason}), min cosine {report.min_cosine}")

    long_chunks = chunks(args.chunks, 190)
    short_chunks = chunks(args.chunks * 4, 30)
    long_tokens = MiniLMEmbedder(threads=args.threads).count_tokens(long_chunks) / len(long_chunks)
    print(f"threads={args.threads}; long chunks ~{long_tokens:.0f} tokens, short ~40 tokens\n")

    register_offline_providers(models_dir)
    import litellm

    header = f"{'model':<10} {'path':<8} {'long chunks/s':>14} {'short chunks/s':>15} {'query ms':>9}"
    print(header)
    print("-" * len(header))
    for name, use_optimised in (("shipped", False), ("optimised", True)):
        embedder = MiniLMEmbedder(models_dir, threads=args.threads, use_optimised=use_optimised)
        embedder.embed(["warm up"])
        if use_optimised and embedder.model_file == offline.shipped_onnx_file():
            print(f"{name:<10} (not prepared: the shipped model was faster or not good enough)")
            continue
        print_row(name, "direct", embedder.embed, long_chunks, short_chunks)
        offline.provider.minilm = embedder  # the provider embeds through this module-level instance

        def via_litellm(texts: Sequence[str]) -> object:
            return litellm.embedding(model="local/minilm", input=list(texts))

        via_litellm(["warm up"])
        print_row(name, "litellm", via_litellm, long_chunks, short_chunks)

    # Package descriptions on this machine: real prose with a large vocabulary, so the first
    # pass pays for stemming every new word the way a fresh ingest worker does.
    text = " ".join((dist.read_text("METADATA") or "") for dist in importlib.metadata.distributions())
    text = " ".join(text.split()[:200_000])
    tokens = len(text.split())
    sparse._token_term.cache_clear()
    cold = rate(lambda: sparse.encode_document(text), tokens, repeats=1)
    warm = rate(lambda: sparse.encode_document(text), tokens)
    print(
        f"\nsparse BM25 encode_document over {tokens} words: {cold / 1e3:.0f} k words/s first pass, "
        f"{warm / 1e6:.2f} M words/s with the stem cache warm"
    )

if __name__ == "__main__":
    main()
