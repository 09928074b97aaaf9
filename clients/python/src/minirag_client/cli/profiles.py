"""Where the CLI finds the API and the credential: flags, then MINIRAG_URL / MINIRAG_TOKEN, then the
profile file (MINIRAG_CONFIG, default ~/.config/minirag/profiles.json, written by `minirag login`,
readable by its owner only)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


def config_path() -> Path:
    configured = os.environ.get("MINIRAG_CONFIG")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "minirag" / "profiles.json"


@dataclass
class Profile:
    name: str
    url: str
    token: str | None


def _read() -> dict[str, dict[str, str]]:
    path = config_path()
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def load(name: str, url: str | None = None, token: str | None = None) -> Profile:
    stored = _read().get(name, {})
    return Profile(name, url or os.environ.get("MINIRAG_URL") or stored.get("url") or DEFAULT_URL,
                   token or os.environ.get("MINIRAG_TOKEN") or stored.get("token"))


def save(profile: Profile) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    profiles = _read()
    profiles[profile.name] = {"url": profile.url, **({"token": profile.token} if profile.token else {})}
    path.write_text(json.dumps(profiles, indent=2) + "\n")
    path.chmod(0o600)
    return path
