"""``local/hash``: deterministic hashed word/char-n-gram vectors for tests: texts that share
words are similar, and no model file is needed."""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from minirag.llm.offline.common import EMBEDDING_DIM, WORD, normalise_word
from minirag.text import ENGLISH_STOPWORDS

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


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
        tokens = [t for t in WORD.findall(text.lower()) if t not in ENGLISH_STOPWORDS]
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
