"""DOCX: Word heading styles open sections, the Title style gives the title, tables become 'a | b' lines."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from minirag.documents.archives import ZipLimits, check_zip_container
from minirag.documents.sections import ExtractedDocument, SectionBuilder
from minirag.errors import PermanentIngestError

_DOCX_LIMITS = ZipLimits(max_members=5_000, max_total_bytes=100 * 1024 * 1024)

_DOCX_HEADING = re.compile(r"^heading\s*(\d)$", re.I)


def convert_docx(data: bytes, filename: str | None, charset: str | None) -> ExtractedDocument:
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_zip_container(data, "DOCX", _DOCX_LIMITS)
    try:
        document = Document(io.BytesIO(data))
    except Exception as exc:
        raise PermanentIngestError("the DOCX file is corrupt or not a Word document") from exc

    builder = SectionBuilder()
    title: str | None = None

    def table_rows(table: Table) -> Iterator[str]:
        for row in table.rows:
            cells: list[str] = []
            seen: set[int] = set()
            for cell in row.cells:
                if id(cell._tc) in seen:  # merged cells repeat the same element
                    continue
                seen.add(id(cell._tc))
                text = " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
                if text:
                    cells.append(text)
                for nested in cell.tables:
                    yield from table_rows(nested)
            if cells:
                yield " | ".join(cells)

    try:
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                text = block.text.strip()
                if not text:
                    continue
                style = (block.style.name or "") if block.style is not None else ""
                match = _DOCX_HEADING.match(style.strip())
                if style.strip().lower() == "title":
                    title = title or text
                    builder.line(text)
                elif match:
                    builder.heading_at(int(match.group(1)), text)
                else:
                    builder.paragraph(text)
            elif isinstance(block, Table):
                rows = list(table_rows(block))
                if rows:
                    builder.paragraph("\n".join(rows))
        core_title = document.core_properties.title
    except PermanentIngestError:
        raise
    except Exception as exc:
        raise PermanentIngestError("the DOCX file is corrupt or not a Word document") from exc
    return builder.build(title=core_title or title, metadata={"source_type": "docx"}, filename=filename)
