"""Zip-bomb caps shared by zip batches and DOCX (which is a zip too), checked before anything inflates."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from minirag.errors import PermanentIngestError

__all__ = ["DEFAULT_ZIP_LIMITS", "ZipLimits", "check_zip_container", "open_zip"]


@dataclass(frozen=True)
class ZipLimits:
    """Caps that stop zip bombs before anything is decompressed (sizes from the central directory;
    zipfile never inflates a member past its declared size)."""

    max_members: int = 10_000
    max_total_bytes: int = 512 * 1024 * 1024
    max_member_bytes: int = 100 * 1024 * 1024
    #: Unpacked bytes per uploaded byte (INGEST_MAX_EXPANSION_RATIO); None: no ratio limit.
    max_ratio: float | None = None

    def check_ratio(self, unpacked: int, uploaded: int, what: str) -> None:
        """A few KB must not become megabytes of text to chunk and embed: refuse an archive that
        expands more than `max_ratio` times its size."""
        if self.max_ratio is not None and unpacked > self.max_ratio * max(uploaded, 1):
            raise PermanentIngestError(
                f"the {what} file expands to {unpacked // max(uploaded, 1)} times its size ({unpacked} bytes from "
                f"{uploaded}); the limit is {self.max_ratio:g} times (INGEST_MAX_EXPANSION_RATIO)")


DEFAULT_ZIP_LIMITS = ZipLimits()


def open_zip(data: bytes, what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise PermanentIngestError(f"the {what} file is corrupt or not a zip archive") from exc


def check_zip_container(data: bytes, what: str, limits: ZipLimits = DEFAULT_ZIP_LIMITS) -> None:
    """DOCX is a zip too: refuse bombs before python-docx inflates its parts."""
    with open_zip(data, what) as zf:
        infos = zf.infolist()
        unpacked = sum(i.file_size for i in infos)
        if len(infos) > limits.max_members or unpacked > limits.max_total_bytes:
            raise PermanentIngestError(f"the {what} file expands to more data than allowed")
        limits.check_ratio(unpacked, len(data), what)

