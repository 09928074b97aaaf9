"""BM25 sparse vectors for a Qdrant sparse vector configured with ``Modifier.IDF``.

Qdrant computes the IDF part server-side from the stored collection, so a document vector
carries only BM25's saturated term frequency and a query vector carries each distinct term
once with weight 1.0. The conventions follow fastembed's ``Qdrant/bm25`` (k1 1.2, b 0.75,
avgdl 256, lowercase word tokens, English stopwords, Snowball English stems, tokens longer
than 40 characters dropped, term id = ``abs(murmur3_32(stem))``), so the same text always maps
to the same ids in every process without a vocabulary file.

This module imports neither qdrant_client nor numpy: build ``models.SparseVector(indices=...,
values=...)`` at the call site.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import mmh3

from minirag.text import ENGLISH_STOPWORDS, stem_word

__all__ = [
    "BM25_AVGDL",
    "BM25_B",
    "BM25_K1",
    "ENGLISH_STOPWORDS",
    "SparseTerms",
    "encode_document",
    "encode_query",
    "murmur3_32",
    "term_id",
    "terms",
]

BM25_K1 = 1.2
BM25_B = 0.75
#: Average document length in (stopword-free) tokens; fastembed's Qdrant/bm25 default.
BM25_AVGDL = 256.0
MAX_TOKEN_CHARS = 40


_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class SparseTerms:
    """A sparse vector as Qdrant wants it: parallel lists of term ids and weights."""

    indices: list[int]
    values: list[float]



def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit, signed (``mmh3.hash``, the hash fastembed's Qdrant/bm25 ids use)."""
    return mmh3.hash(data, seed)


def term_id(stem: str) -> int:
    """Stable non-negative id of a stem (fits Qdrant's u32 sparse indices)."""
    return abs(murmur3_32(stem.encode("utf-8")))


@lru_cache(maxsize=262_144)
def _token_term(token: str) -> tuple[str, int] | None:
    """(stem, id) of a lowercase token, or None for stopwords; cached since stemming dominates cost."""
    if token in ENGLISH_STOPWORDS or len(token) > MAX_TOKEN_CHARS:
        return None
    stem = stem_word(token)
    if not stem:
        return None
    return stem, term_id(stem)


def terms(text: str) -> list[str]:
    """The stems BM25 counts in ``text``, in order (stopwords dropped)."""
    out = []
    for token in _WORD.findall(text.lower()):
        term = _token_term(token)
        if term is not None:
            out.append(term[0])
    return out


def _term_ids(text: str) -> list[int]:
    out = []
    for token in _WORD.findall(text.lower()):
        term = _token_term(token)
        if term is not None:
            out.append(term[1])
    return out


def encode_document(
    text: str, *, k1: float = BM25_K1, b: float = BM25_B, avgdl: float = BM25_AVGDL
) -> SparseTerms:
    """BM25 term-frequency part per distinct term: ``tf*(k1+1) / (tf + k1*(1-b+b*dl/avgdl))``.

    ``dl`` is the number of counted (stopword-free) tokens, as in fastembed. Ids are sorted so
    equal texts give equal vectors.
    """
    ids = _term_ids(text)
    if not ids:
        return SparseTerms([], [])
    norm = k1 * (1.0 - b + b * len(ids) / avgdl)
    counts = sorted(Counter(ids).items())
    return SparseTerms(
        indices=[i for i, _ in counts],
        values=[tf * (k1 + 1.0) / (tf + norm) for _, tf in counts],
    )


def encode_query(text: str) -> SparseTerms:
    """Each distinct query term once with weight 1.0; Qdrant multiplies in the IDF."""
    ids = sorted(set(_term_ids(text)))
    return SparseTerms(indices=ids, values=[1.0] * len(ids))
