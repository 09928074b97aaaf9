"""Bytes to clean text: the charset ladder, and the normalisation every converter applies."""

from __future__ import annotations

import codecs
import re

from minirag.errors import PermanentIngestError

__all__ = ["clean_text", "decode_document_text", "decode_text", "is_utf8_or_bom"]

_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")
_TRAILING_WS = re.compile(r"[ \t]+\n")
_MANY_BLANK = re.compile(r"\n{3,}")


def decode_text(data: bytes, charset: str | None = None) -> str:
    """BOM, then strict UTF-8, then the declared charset, then a guess, then latin-1 (never fails).

    The guess: mostly-ASCII bytes that decode as windows-1252 are taken as such (the web's
    default for undeclared legacy text; charset detectors often pick a Baltic or Central
    European code page for short French or German text); otherwise charset_normalizer decides
    if it is installed (Cyrillic, CJK), else windows-1252."""
    text = _decode(data, charset, strict=False)
    return text if text is not None else data.decode("latin-1")


def _decode(data: bytes, charset: str | None, *, strict: bool) -> str | None:
    """The ladder of `decode_text`; `strict`: a BOM'd file must decode cleanly, and bytes that no
    step reads (windows-1252 included) give None instead of latin-1's anything-goes."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec, errors="strict" if strict else "replace")
            except UnicodeDecodeError:
                return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if charset:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    sample = data[:65536]
    high = sum(1 for b in sample if b >= 0x80)
    if high <= 0.3 * len(sample):
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        from_bytes = None
    if from_bytes is not None:
        best = from_bytes(data).best()
        if best is not None:
            return str(best)
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return None


def clean_text(text: str) -> str:
    """Normalise newlines and drop control/zero-width characters; keep paragraph breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n")
    text = _CONTROL.sub("", text).replace("\u00a0", " ")
    text = _TRAILING_WS.sub("\n", text)
    return _MANY_BLANK.sub("\n\n", text).strip()


def decode_document_text(data: bytes, charset: str | None) -> str:
    """A text file's text, refused when it is not text: bytes no encoding reads cleanly, or text
    with control characters in it (random bytes decode as *some* legacy code page, never cleanly)."""
    text = _decode(data, charset, strict=True)
    if text is None or "\x00" in text[:65536] or _looks_binary(text[:65536]):
        raise PermanentIngestError("the file looks binary, not text")
    return text


_BINARY_CONTROL = re.compile(r"[\x01-\x08\x0e-\x1a\x1c-\x1f\x7f]")


def _looks_binary(sample: str) -> bool:
    """More than 1 in 200 characters are C0 controls (not tab, newline, form feed, ESC): text has
    next to none, random bytes have one in eight."""
    return len(_BINARY_CONTROL.findall(sample)) * 200 > max(len(sample), 1)



def is_utf8_or_bom(data: bytes) -> bool:
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
