"""BM25 sparse vectors: stable ids across inflections, TF saturation, query weights."""

from __future__ import annotations

import pytest

from minirag.vectorstore.sparse import (
    BM25_AVGDL,
    BM25_K1,
    encode_document,
    encode_query,
    murmur3_32,
    term_id,
    terms,
)


def test_inflected_forms_share_a_term_between_query_and_document() -> None:
    document = encode_document("The athlete runs every morning.")
    query = encode_query("running")
    assert query.indices and set(query.indices) <= set(document.indices)


def test_stopwords_and_punctuation_are_not_terms() -> None:
    assert terms("The, and; of THE!") == []
    assert encode_document("the and of") == encode_document("")
    assert encode_document("").indices == []


def test_term_ids_are_murmur3_like_fastembed() -> None:
    # Reference values of mmh3.hash (MurmurHash3 x86 32-bit, seed 0).
    assert murmur3_32(b"foo") == -156908512
    assert murmur3_32(b"hello") == 613153351
    assert murmur3_32(b"The quick brown fox jumps over the lazy dog") & 0xFFFFFFFF == 0x2E4FF723
    assert term_id("foo") == 156908512
    assert 0 <= term_id("anything") <= 2**31


def test_query_has_unique_terms_with_unit_weights() -> None:
    query = encode_query("refund refunds REFUNDED policy")
    assert len(query.indices) == len(set(query.indices)) == 2
    assert query.values == [1.0, 1.0]


def test_document_weights_follow_bm25_saturation() -> None:
    one = encode_document("alpha")
    # A single token in a one-token document: (k1+1)/(1 + k1*(1-b+b/avgdl)).
    expected = (BM25_K1 + 1) / (1 + BM25_K1 * (1 - 0.75 + 0.75 / BM25_AVGDL))
    assert one.values == [pytest.approx(expected)]

    avg_length_doc = encode_document(" ".join(["alpha"] + [f"w{i}" for i in range(int(BM25_AVGDL) - 1)]))
    alpha = avg_length_doc.indices.index(term_id("alpha"))
    assert avg_length_doc.values[alpha] == pytest.approx(1.0)  # tf 1 at avgdl scores exactly 1

    twice = encode_document("alpha alpha beta")
    thrice = encode_document("alpha alpha alpha beta")
    value = lambda vec: vec.values[vec.indices.index(term_id("alpha"))]  # noqa: E731
    assert value(twice) < value(thrice) < BM25_K1 + 1  # grows with tf, saturates below k1+1


def test_longer_documents_weigh_a_term_less() -> None:
    short = encode_document("qdrant vectors")
    long = encode_document("qdrant vectors " + " ".join(f"filler{i}" for i in range(500)))
    qdrant = term_id("qdrant")
    assert long.values[long.indices.index(qdrant)] < short.values[short.indices.index(qdrant)]


def test_encoding_is_deterministic_and_sorted() -> None:
    text = "Sparse vectors let Qdrant score keyword matches; sparse retrieval complements dense."
    first, second = encode_document(text), encode_document(text)
    assert first == second
    assert first.indices == sorted(first.indices)
    assert len(first.indices) == len(first.values)


def test_unicode_words_are_tokenised() -> None:
    stems = terms("Café naïve résumé")
    assert len(stems) == 3 and stems[0] == "café"  # accented letters stay inside one word
