"""Batch sources: JSON Lines (one document per non-blank line) and zip archives (one document per
supported member, in directory order). Both have a stable index space, so a fan-out can hand each
worker a `[start, stop)` slice that it parses alone."""

from __future__ import annotations

import codecs
import json
import posixpath
import re
import stat
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

from minirag.documents.archives import ZipLimits, check_zip_container, open_zip
from minirag.documents.convert import convert_document
from minirag.documents.decoding import clean_text
from minirag.documents.formats import (
    BATCH_KINDS,
    SUPPORTED_LIST,
    file_extension,
    kind_for_filename,
)
from minirag.documents.sections import ExtractedDocument, Section
from minirag.errors import PermanentIngestError
from minirag.storable import MAX_METADATA_DEPTH, json_depth, unstorable_strings

__all__ = ["MAX_SKIPPED_REPORTED", "count_jsonl", "iter_jsonl_documents", "iter_zip_documents", "plan_jsonl",
           "plan_zip", "zip_members"]

#: Skipped lines or members reported on a source (the first ones; the count of documents says the rest).
MAX_SKIPPED_REPORTED = 100

# Archive junk skipped silently (everything else unsupported is reported in warnings).
_JUNK_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})


# --------------------------------------------------------------------------- jsonl


def _iter_lines(data: bytes | bytearray | memoryview | Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, raw line) without splitting the whole buffer into a list at once."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        buf = bytes(data)
        pos, number, size = 0, 0, len(buf)
        while pos < size:
            end = buf.find(b"\n", pos)
            if end < 0:
                end = size
            number += 1
            yield number, buf[pos:end]
            pos = end + 1
    else:
        for number, line in enumerate(data, start=1):
            yield number, line.rstrip(b"\n")


def _parse_jsonl_line(number: int, raw: bytes) -> ExtractedDocument:
    def bad(reason: str) -> PermanentIngestError:
        return PermanentIngestError(f"line {number}: {reason}", details=[{"line": number, "reason": reason}])

    if number == 1 and raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad("not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise bad(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise bad("expected a JSON object")
    # An unpaired surrogate (a "\ud800" escape) cannot be encoded for the embedder or the database:
    # the uploader's error, not an outage to retry. (NULs are dropped on the way: see `storable()`.)
    for path, reason in unstorable_strings(record, limit=100):
        if "surrogate" in reason:
            raise bad(f"'{'.'.join(str(p) for p in path)}' {reason}")
    doc_id = record.get("id", record.get("_id"))
    if doc_id is not None:
        if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
            raise bad("'id' must be a string or an integer")
        doc_id = str(doc_id).strip() or None
    title = record.get("title")
    if title is not None and not isinstance(title, str):
        raise bad("'title' must be a string")
    title = (title.strip() or None) if title else None
    text = record.get("text")
    if text is not None and not isinstance(text, str):
        raise bad("'text' must be a string")
    text = clean_text(text or "")
    if not text:
        if not title:
            raise bad("'text' is missing or empty")
        text = title  # BEIR corpora carry a few title-only documents
    metadata = record.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        raise bad("'metadata' must be a JSON object")
    elif json_depth(metadata) > MAX_METADATA_DEPTH:
        raise bad(f"'metadata' is nested more than {MAX_METADATA_DEPTH} levels deep")
    return ExtractedDocument(
        external_id=doc_id,
        title=title,
        text=text,
        metadata=dict(metadata),
        sections=[Section(text=text)],
    )


def _jsonl_records(
    data: bytes | bytearray | memoryview | Iterable[bytes],
) -> Iterator[tuple[int, ExtractedDocument | PermanentIngestError]]:
    """(line number, document or why the line is refused) for every non-blank line."""
    for number, raw in _iter_lines(data):
        if not raw.strip():
            continue
        try:
            yield number, _parse_jsonl_line(number, raw)
        except PermanentIngestError as exc:
            yield number, exc


def iter_jsonl_documents(
    data: bytes | bytearray | memoryview | Iterable[bytes],
    *,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[ExtractedDocument]:
    """One document per valid non-blank line (`id` or BEIR `_id`, `title`, `text`, optional `metadata`).

    `data` may be the whole file or any iterable of byte lines (a file object, an S3 body's
    `iter_lines()`), so a large batch never needs to be parsed at once. The index space counts
    valid lines only (bad ones are skipped, and reported by `plan_jsonl`), so `[start, stop)`
    slices agree with the plan's count. Every line is parsed: that is what tells a bad one.
    """
    index = -1
    for _, record in _jsonl_records(data):
        if isinstance(record, PermanentIngestError):
            continue
        index += 1
        if index < start:
            continue
        if stop is not None and index >= stop:
            return
        yield record


def plan_jsonl(data: bytes, *, max_reported: int = MAX_SKIPPED_REPORTED) -> tuple[int, list[dict[str, Any]]]:
    """(valid documents, the bad lines as {"line", "reason"}, at most `max_reported` of them). One bad
    line no longer fails the source; a file without any valid line does, naming its first bad line."""
    count, bad, first, total_bad = 0, [], None, 0
    for number, record in _jsonl_records(data):
        if isinstance(record, PermanentIngestError):
            total_bad += 1
            first = first or record
            if len(bad) < max_reported:
                bad.append({"line": number, "reason": record.message[len(f"line {number}: "):]})
        else:
            count += 1
    if count == 0 and first is not None:
        more = f" (and {total_bad - 1} more bad lines)" if total_bad > 1 else ""
        raise PermanentIngestError(f"{first.message}{more}", details=bad)
    return count, bad


def count_jsonl(data: bytes) -> int:
    return plan_jsonl(data)[0]


# --------------------------------------------------------------------------- zip


def _unsafe_name(name: str) -> bool:
    norm = name.replace("\\", "/")
    return (
        norm.startswith("/")
        or bool(re.match(r"^[A-Za-z]:", norm))
        or any(part == ".." for part in norm.split("/"))
        or "\x00" in norm
    )


def zip_members(zf: zipfile.ZipFile, limits: ZipLimits,
                uploaded: int | None = None) -> tuple[list[tuple[zipfile.ZipInfo, str]], list[dict[str, str]]]:
    """Supported members (the batch index space) and the skipped ones ({"member", "reason"}). Refuses zip
    bombs (also by expansion ratio, given the `uploaded` size), unsafe paths and archives without
    a supported member."""
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise PermanentIngestError(f"the archive has more than {limits.max_members} entries")
    unpacked = sum(i.file_size for i in infos)
    if unpacked > limits.max_total_bytes:
        raise PermanentIngestError(
            f"the archive expands to more than {limits.max_total_bytes} bytes (possible zip bomb)"
        )
    if uploaded is not None:
        limits.check_ratio(unpacked, uploaded, "zip")
    members: list[tuple[zipfile.ZipInfo, str]] = []
    skipped: list[dict[str, str]] = []
    seen: set[str] = set()
    for info in infos:
        if _unsafe_name(info.filename):
            raise PermanentIngestError(f"the archive contains an unsafe path '{info.filename[:200]}'")
        path = info.filename.replace("\\", "/")
        kind, why = _member_kind(info, path, limits)
        if kind is not None and path in seen:
            kind, why = None, "duplicate name in the archive"
        if kind is None:
            if why:
                skipped.append({"member": path, "reason": why})
            continue
        seen.add(path)
        members.append((info, kind))
    if not members:
        raise PermanentIngestError(f"the archive contains no supported files; supported: {SUPPORTED_LIST}")
    return members, skipped


def _member_kind(info: zipfile.ZipInfo, path: str, limits: ZipLimits) -> tuple[str | None, str]:
    """(kind, "") for a member to extract, else (None, why it is skipped); "" skips junk silently."""
    base = posixpath.basename(path)
    if info.is_dir() or path.startswith("__MACOSX/") or "/__MACOSX/" in path:
        return None, ""
    if base.lower() in _JUNK_NAMES or base.startswith("._"):
        return None, ""
    if stat.S_ISLNK(info.external_attr >> 16):
        return None, "symbolic links are not supported"
    if info.flag_bits & 0x1:
        return None, "encrypted archive members are not supported"
    kind = kind_for_filename(base)
    if kind is None:
        ext = file_extension(base)
        what = f"'{ext}'" if ext else "(no extension)"
        return None, f"unsupported file type {what}"
    if kind in BATCH_KINDS:
        return None, f"nested {kind} batches are not supported inside an archive"
    if info.file_size > limits.max_member_bytes:
        return None, f"larger than {limits.max_member_bytes} bytes"
    return kind, ""


def _extract_zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, kind: str, limits: ZipLimits) -> ExtractedDocument:
    path = info.filename.replace("\\", "/")
    try:
        with zf.open(info) as handle:
            payload = handle.read(limits.max_member_bytes + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError, ValueError) as exc:
        raise PermanentIngestError(
            f"'{path}': the archive member is corrupt or uses an unsupported compression") from exc
    if len(payload) > limits.max_member_bytes:
        raise PermanentIngestError(f"'{path}': larger than {limits.max_member_bytes} bytes")
    try:
        if kind == "docx":  # a zip inside the zip: its own expansion counts too
            check_zip_container(payload, "DOCX", limits)
        doc = convert_document(kind, payload, filename=path, charset=None)
    except PermanentIngestError as exc:
        raise PermanentIngestError(f"'{path}': {exc.message}", details=exc.details) from exc
    doc.external_id = path
    doc.title = posixpath.basename(path)
    doc.metadata["archive_member"] = path
    return doc


def plan_zip(data: bytes, limits: ZipLimits) -> tuple[int, list[dict[str, str]]]:
    """How many documents the archive holds, and the members skipped and why (nothing is inflated)."""
    with open_zip(data, "zip") as zf:
        members, skipped = zip_members(zf, limits, len(data))
    return len(members), skipped[:MAX_SKIPPED_REPORTED]


def iter_zip_documents(data: bytes, *, start: int, stop: int | None, limits: ZipLimits) -> Iterator[ExtractedDocument]:
    with open_zip(data, "zip") as zf:
        members, _ = zip_members(zf, limits, len(data))
        for info, kind in members[start:stop]:
            yield _extract_zip_member(zf, info, kind, limits)

