"""The README's Layout names every package folder of the code layer and every top-level folder."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _layout_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Layout", 1)[1]
    return section.split("```", 2)[1]


def test_layout_names_every_package_folder() -> None:
    # Given the README's Layout block and the folders of shared/minirag that hold Python code
    block = _layout_block()
    package = ROOT / "shared" / "minirag"
    folders = sorted(p.relative_to(package).as_posix() for p in package.rglob("*")
                     if p.is_dir() and any(p.glob("*.py")) and "migrations" not in p.parts)
    # Then each appears by its last name followed by a slash
    missing = [f for f in folders if not re.search(rf"(^|\s){re.escape(f.split('/')[-1])}/", block, re.M)]
    assert missing == []


def test_layout_names_no_folder_that_is_gone() -> None:
    block = _layout_block()
    package = ROOT / "shared" / "minirag"
    named = re.findall(r"^\s{2,4}([a-z_]+)/\s", block, re.M)
    gone = [n for n in named if not (package / n).is_dir() and not list(package.rglob(n))]
    assert gone == []
