"""Every setting is explained in .env.example and in the README's Configuration table."""

from __future__ import annotations

import re
from pathlib import Path

from minirag.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _env_names() -> list[str]:
    return [(field.alias or name).upper() for name, field in Settings.model_fields.items()]


def test_every_setting_is_in_env_example_with_an_explanation() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    missing, unexplained = [], []
    for name in _env_names():
        at = [i for i, line in enumerate(lines) if re.match(rf"^(# )?{name}=", line)]
        if not at:
            missing.append(name)
        elif at[0] == 0 or not lines[at[0] - 1].startswith("# ") or "=" in lines[at[0] - 1].split()[1]:
            unexplained.append(name)
    assert (missing, unexplained) == ([], [])


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    configuration = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", configuration, re.M))
    assert [name for name in _env_names() if name not in rows] == []
