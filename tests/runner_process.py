"""`minirag dev` as a real subprocess on a free 127.0.0.1 port, on the embedded default in a temporary
data folder, for the tests that drive it as a user would (curl, Ctrl-C)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from minirag.local.invoke import sandbox_environment

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def start_local_runner(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """The runner with the vector store on disk (as `make dev` has it) and the fast offline embedder;
    returns once its OpenAPI document answers. The same `tmp_path` again is a restart on the same data."""
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    sandbox_environment(env, tmp_path / "data", EMBEDDING_MODEL="local/hash", DEFAULT_CHAT_MODEL="local/extractive",
                        PUBLIC_BASE_URL=api)
    env.pop("QDRANT_PATH", None)
    runner = subprocess.Popen(
        [sys.executable, "-m", "minirag.cli", "dev", "--port", str(port), "--template", str(ROOT / "template.yaml"),
         *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    )
    if not wait_until(lambda: httpx.get(f"{api}/openapi.json", timeout=2).status_code == 200, 60):
        runner.kill()
        _, stderr = runner.communicate()
        raise RuntimeError(f"the local runner did not start: {stderr.decode()[-2000:]}")
    return runner, api


def stop(runner: subprocess.Popen[bytes]) -> None:
    if runner.poll() is None:
        runner.kill()
        runner.communicate()


def bootstrap_tenant(api: str) -> dict[str, str]:
    """Sign up tenant Acme on a running runner; its owner's token as request headers."""
    token = httpx.post(f"{api}/v1/tenants", json={
        "tenant_name": "Acme", "tenant_slug": "acme", "owner_email": "o@acme.example",
        "owner_password": "correct horse battery"}, timeout=10).json()["raw_token"]
    return {"authorization": f"Bearer {token}"}


def add_text_source(api: str, auth: dict[str, str], content: str = "Refunds take 14 days.") -> str:
    """A bot and a text source of it (not ingested yet); the source's id."""
    bot = httpx.post(f"{api}/v1/bot-profiles", json={"name": "S"}, headers=auth, timeout=10).json()
    source = httpx.post(f"{api}/v1/sources", headers=auth, timeout=10, json={
        "bot_profile_id": bot["id"], "name": "H", "source_type": "text", "content": content}).json()
    return source["id"]
