"""Sample sources built in memory, so the ingest tests need no fixture files.

pypdf cannot lay out text, so `make_pdf` writes a minimal valid PDF by hand (Helvetica text
objects, one content stream per page, a correct xref table).
"""

from __future__ import annotations

import io
import zipfile


def _pdf_string(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("latin-1") + b")"


def make_pdf(pages: list[str], *, title: str | None = None) -> bytes:
    """A PDF whose page i shows the lines of pages[i] (an empty string gives a page with no text,
    like a scanned image without OCR)."""
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % p for p in page_ids) + b"] /Count %d >>" % len(pages),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    }
    for page_id, text in zip(page_ids, pages, strict=False):
        ops = [b"BT /F1 12 Tf 14 TL 72 720 Td"]
        for i, line in enumerate(text.split("\n") if text else []):
            ops.append((b"T* " if i else b"") + _pdf_string(line) + b" Tj")
        ops.append(b"ET")
        stream = b"\n".join(ops) if text else b""
        objects[page_id] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (page_id + 1)
        )
        objects[page_id + 1] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    info_id = None
    if title is not None:
        info_id = max(objects) + 1
        objects[info_id] = b"<< /Title " + _pdf_string(title) + b" >>"

    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n")
    xref = out.tell()
    size = max(objects) + 1
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    for number in range(1, size):
        out.write(b"%010d 00000 n \n" % offsets[number])
    trailer = b"<< /Size %d /Root 1 0 R" % size + (b" /Info %d 0 R" % info_id if info_id else b"") + b" >>"
    out.write(b"trailer\n" + trailer + b"\nstartxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def encrypt_pdf(pdf: bytes, *, user_password: str, owner_password: str = "owner") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx() -> bytes:
    """Title, two heading levels, body paragraphs and a table with a merged cell."""
    from docx import Document

    document = Document()
    document.add_heading("Quarterly Report", level=0)
    document.add_heading("Summary", level=1)
    document.add_paragraph("Revenue grew by ten percent.")
    document.add_heading("Details", level=2)
    document.add_paragraph("Costs were flat.")
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).text = "Region"
    table.cell(0, 1).text = "Q1"
    table.cell(0, 2).text = "Q2"
    merged = table.cell(1, 0).merge(table.cell(1, 1))
    merged.text = "EMEA"
    table.cell(1, 2).text = "42"
    document.add_paragraph("Closing remark.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_zip(members: dict[str, bytes], *, directories: tuple[str, ...] = ()) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for directory in directories:
            zf.writestr(zipfile.ZipInfo(directory.rstrip("/") + "/"), b"")
        for name, payload in members.items():
            info = zipfile.ZipInfo(name)  # ZipInfo keeps hostile names ("../x") verbatim
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, payload)
    return out.getvalue()


def set_encrypted_flag(archive: bytes, member: str) -> bytes:
    """Mark a member as encrypted (zipfile cannot write encrypted members) in both headers."""
    data = bytearray(archive)
    name = member.encode()
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) >= 0:  # central directory entries
        name_len = int.from_bytes(data[pos + 28:pos + 30], "little")
        if bytes(data[pos + 46:pos + 46 + name_len]) == name:
            data[pos + 8] |= 0x1
            local = int.from_bytes(data[pos + 42:pos + 46], "little")
            data[local + 6] |= 0x1
        pos += 4
    return bytes(data)
