"""Markdown: ATX and setext headings open sections, fenced code is kept verbatim, front matter
gives the title, and links, images and bold markers are reduced to their text."""

from __future__ import annotations

import re

from minirag.documents.decoding import decode_document_text
from minirag.documents.sections import ExtractedDocument, SectionBuilder

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^\s{0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)[ \t]*$")
_THEMATIC_BREAK = re.compile(r"^\s{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


def _md_inline(line: str) -> str:
    line = _MD_IMAGE.sub(r"\1", line)
    line = _MD_LINK.sub(r"\1", line)
    return _MD_EMPHASIS.sub(r"\2", line)


def convert_markdown(data: bytes, filename: str | None, charset: str | None) -> ExtractedDocument:
    text = decode_document_text(data, charset).replace("\r\n", "\n").replace("\r", "\n")
    title = None
    front = _FRONT_MATTER.match(text)
    if front:
        for line in front.group(1).split("\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "title" and value.strip():
                title = value.strip().strip("\"'")
        text = text[front.end():]
    text = _HTML_COMMENT.sub("", text)
    lines = text.split("\n")
    builder = SectionBuilder()
    paragraph: list[str] = []
    fence: str | None = None

    def flush_paragraph() -> None:
        if paragraph:
            builder.paragraph("\n".join(paragraph))
            paragraph.clear()

    for i, line in enumerate(lines):
        fence_match = _FENCE.match(line)
        if fence is not None:
            if fence_match and fence_match.group(1)[0] == fence[0] and len(fence_match.group(1)) >= len(fence):
                fence = None
                flush_paragraph()
            else:
                paragraph.append(line)
            continue
        if fence_match:
            flush_paragraph()
            fence = fence_match.group(1)
            continue
        atx = _ATX.match(line)
        if atx:
            flush_paragraph()
            heading = _md_inline(atx.group(2) or "").strip()
            if heading:
                level = len(atx.group(1))
                builder.heading_at(level, heading)
                if level == 1 and title is None:
                    title = heading
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        setext = _SETEXT.match(nxt)
        if line.strip() and not paragraph and setext and (setext.group(1)[0] == "=" or len(setext.group(1)) >= 2):
            heading = _md_inline(line).strip()
            level = 1 if setext.group(1)[0] == "=" else 2
            builder.heading_at(level, heading)
            if level == 1 and title is None:
                title = heading
            lines[i + 1] = ""  # consume the underline
            continue
        if not line.strip() or _THEMATIC_BREAK.match(line):
            flush_paragraph()
        else:
            paragraph.append(_md_inline(line))
    flush_paragraph()
    return builder.build(title=title, metadata={"source_type": "markdown"}, filename=filename)

