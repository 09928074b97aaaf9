"""The entry points of extraction: what a source holds (`plan_batch`) and its documents
(`extract_batch`), for every format in `formats.py`.

A source is either a single document (txt, markdown, html, pdf, docx: see `convert/`) or a batch
(jsonl, zip: see `batches.py`). Batches have a stable index space (non-blank lines; supported
archive members in directory order) so that a fan-out can hand each worker a `[start, stop)` slice.

Every failure the user can fix is a `PermanentIngestError` with a message written for them;
library exception text never reaches the message (it stays on `__cause__` for logs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from minirag.documents.archives import DEFAULT_ZIP_LIMITS, ZipLimits, check_zip_container
from minirag.documents.batches import (
    iter_jsonl_documents,
    iter_zip_documents,
    plan_jsonl,
    plan_zip,
)
from minirag.documents.convert import convert_document
from minirag.documents.formats import detect_kind, media_type
from minirag.documents.sections import ExtractedDocument

__all__ = ["BatchPlan", "extract_batch", "plan_batch"]


@dataclass(frozen=True)
class BatchPlan:
    """What a source holds, computed without parsing documents: used to fan work out."""

    kind: str
    count: int
    #: What the index space leaves out, and why: {"line", "reason"} (JSON Lines) or {"member", "reason"} (zip).
    skipped: list[dict[str, Any]] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """The skipped input as sentences (kept in the source's `metadata.ingest_warnings`)."""
        return [f"skipped line {s['line']}: {s['reason']}" if "line" in s else f"skipped '{s['member']}': {s['reason']}"
                for s in self.skipped]


def plan_batch(
    data: bytes, *, filename: str | None = None, content_type: str | None = None,
    zip_limits: ZipLimits = DEFAULT_ZIP_LIMITS,
) -> BatchPlan:
    """Kind, document count and the skipped lines or members, cheaply (no zip member is inflated;
    JSON Lines are parsed, as that is what tells a bad line).

    Also the place where unsupported types, zip bombs, unsafe paths and archives without
    supported files are refused, so a fan-out fails fast before any worker runs."""
    kind = detect_kind(data, filename=filename, content_type=content_type)
    if kind == "jsonl":
        count, bad_lines = plan_jsonl(data)
        return BatchPlan(kind, count, bad_lines)
    if kind == "zip":
        count, skipped = plan_zip(data, zip_limits)
        return BatchPlan(kind, count, skipped)
    return BatchPlan(kind, 1)


def extract_batch(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    start: int = 0,
    stop: int | None = None,
    zip_limits: ZipLimits = DEFAULT_ZIP_LIMITS,
) -> list[ExtractedDocument]:
    """Documents `[start, stop)` of the source's index space (see `plan_batch`; all of them by
    default), so each worker parses only its slice. A single-document source has one index (0)."""
    if start < 0 or (stop is not None and stop < start):
        raise ValueError("expected 0 <= start <= stop")
    kind = detect_kind(data, filename=filename, content_type=content_type)
    if kind == "jsonl":
        documents = list(iter_jsonl_documents(data, start=start, stop=stop))
    elif kind == "zip":
        documents = list(iter_zip_documents(data, start=start, stop=stop, limits=zip_limits))
    elif start > 0 or stop == 0:
        return []
    else:
        if kind == "docx":  # a zip too: the expansion ratio applies (the converter has its own caps)
            check_zip_container(data, "DOCX", zip_limits)
        _, charset = media_type(content_type)
        documents = [convert_document(kind, data, filename=filename, charset=charset)]
    return [doc.storable() for doc in documents]
