"""HTML: headings open sections; scripts, navigation and footers are dropped; <main> is preferred;
tables become 'a | b' lines and <pre> keeps its whitespace."""

from __future__ import annotations

import re
from typing import Any

from minirag.documents.decoding import decode_text, is_utf8_or_bom
from minirag.documents.sections import ExtractedDocument, SectionBuilder
from minirag.errors import PermanentIngestError

_HTML_DROP = ("script", "style", "noscript", "template", "nav", "footer", "svg", "iframe", "object", "embed", "canvas")
_HTML_BLOCK = frozenset(
    "p div section article main header aside blockquote pre ul ol li dl dt dd table thead tbody tfoot "
    "tr caption figure figcaption form fieldset address details summary hr center body html".split()
)
_HTML_LINE_ITEMS = frozenset({"li", "tr", "dt", "dd"})
_HTML_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_WS = re.compile(r"\s+")
_BR = "\ue000"  # private-use sentinel: a <br> survives whitespace collapsing as a newline
_BR_SPACES = re.compile(" ?\ue000 ?")


def convert_html(data: bytes, filename: str | None, charset: str | None) -> ExtractedDocument:
    from bs4 import BeautifulSoup, NavigableString, Tag
    from bs4.element import CData, Comment, Declaration, Doctype, ProcessingInstruction

    try:
        markup: str | bytes = decode_text(data) if is_utf8_or_bom(data) else data
        soup = (
            BeautifulSoup(markup, "html.parser")
            if isinstance(markup, str)
            else BeautifulSoup(markup, "html.parser", from_encoding=charset)
        )
    except Exception as exc:  # html.parser is lenient; anything raised here means garbage input
        raise PermanentIngestError("the HTML file could not be parsed") from exc

    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    if soup.head:
        soup.head.decompose()
    root = soup.find("main") or soup.find(attrs={"role": "main"})
    if root is None or not root.get_text(strip=True):
        root = soup.body or soup

    builder = SectionBuilder()
    buffer: list[str] = []
    state = {"pre": 0, "last_block": "", "raw": False}
    skip_strings = (Comment, Declaration, Doctype, CData, ProcessingInstruction)

    def flush(block: str) -> None:
        text = "".join(buffer)
        buffer.clear()
        if not state["raw"]:
            text = _BR_SPACES.sub("\n", _WS.sub(" ", text)).replace(_BR, "\n").strip()
        state["raw"] = False
        if text.strip(" |"):
            text = text.strip(" |") if not state["pre"] else text
            joiner = "\n" if block in _HTML_LINE_ITEMS and state["last_block"] in _HTML_LINE_ITEMS else "\n\n"
            builder.paragraph(text, joiner)
            state["last_block"] = block

    # Iterative walk: deeply nested real-world HTML would overflow a recursive one.
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            if node.name == "pre":
                flush("pre")
                state["pre"] -= 1
            elif node.name in _HTML_BLOCK:
                flush(node.name)
            continue
        if isinstance(node, NavigableString):
            if not isinstance(node, skip_strings):
                buffer.append(str(node))
                if state["pre"]:
                    state["raw"] = True
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name
        if name in _HTML_HEADINGS:
            flush("")
            state["last_block"] = ""
            heading = node.get_text(" ", strip=True)
            builder.heading_at(_HTML_HEADINGS[name], heading)
            if title is None and name == "h1":
                title = heading
            continue
        if name == "br":
            buffer.append("\n" if state["pre"] else _BR)
            continue
        if name in ("td", "th") and "".join(buffer).strip():
            buffer.append(" | ")
        if name == "pre":
            flush("")
            state["pre"] += 1
        elif name in _HTML_BLOCK:
            flush(name if name in _HTML_LINE_ITEMS else "")
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.contents))
    flush("")
    return builder.build(title=title, metadata={"source_type": "html"}, filename=filename)

