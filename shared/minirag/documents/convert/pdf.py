"""PDF: one section per page with text (pypdf); scanned and password-protected files are refused."""

from __future__ import annotations

import io
import re
from typing import Any

from minirag.documents.decoding import clean_text
from minirag.documents.sections import ExtractedDocument, SectionBuilder
from minirag.errors import PermanentIngestError

_HYPHEN_BREAK = re.compile(r"([a-z])-\n([a-z])")


def convert_pdf(data: bytes, filename: str | None, charset: str | None) -> ExtractedDocument:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except Exception as exc:
        raise PermanentIngestError("the PDF is corrupt or unreadable") from exc
    if encrypted:
        try:
            decrypted = bool(reader.decrypt(""))  # owner-password-only PDFs open with an empty password
        except Exception:
            decrypted = False
        if not decrypted:
            raise PermanentIngestError("the PDF is password-protected; upload a copy without a password")
    try:
        pages = list(reader.pages)
    except Exception as exc:
        raise PermanentIngestError("the PDF is corrupt or unreadable") from exc
    if not pages:
        raise PermanentIngestError("the PDF has no pages")

    builder = SectionBuilder()
    unreadable: list[int] = []
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception:
            unreadable.append(number)
            continue
        builder.page(number)
        builder.paragraph(_HYPHEN_BREAK.sub(r"\1\2", clean_text(text)))
    builder.flush()
    if not builder.sections:
        if len(unreadable) == len(pages):
            raise PermanentIngestError("the PDF is corrupt or unreadable")
        raise PermanentIngestError(
            "the PDF has no extractable text; it may be a scanned document (OCR is not supported)"
        )
    title = None
    try:
        info = reader.metadata
        title = info.title if info is not None else None
    except Exception:
        title = None
    metadata: dict[str, Any] = {"source_type": "pdf", "page_count": len(pages)}
    if unreadable:
        metadata["warnings"] = [f"text of page {n} could not be extracted" for n in unreadable]
    return builder.build(title=title if isinstance(title, str) else None, metadata=metadata, filename=filename)

