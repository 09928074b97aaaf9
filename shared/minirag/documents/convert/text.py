"""Plain text: one section, paragraphs kept."""

from __future__ import annotations

from minirag.documents.decoding import clean_text, decode_document_text
from minirag.documents.sections import ExtractedDocument, SectionBuilder


def convert_text(data: bytes, filename: str | None, charset: str | None) -> ExtractedDocument:
    builder = SectionBuilder()
    builder.paragraph(clean_text(decode_document_text(data, charset)))
    return builder.build(title=None, metadata={"source_type": "text"}, filename=filename)

