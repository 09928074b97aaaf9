"""Crash recovery of the embedded default (issue 10, item 10), run by hand:

    PYTHONPATH=shared python -m bench.crash_recovery [--documents 500] [--model local/minilm]

Starts a real `minirag dev` on a throw-away data folder, uploads a JSON Lines source of N documents,
asks for its ingest and `kill -9`s the runner mid-way (some slices recorded, others not). Restarts it
on the same data and waits for `ready`. Prints the timings and checks exactly N chunks (one a document)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(data: Path, port: int, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], float]:
    started = time.perf_counter()
    runner = subprocess.Popen([sys.executable, "-m", "minirag.cli", "dev", "--port", str(port),
                               "--template", str(ROOT / "template.yaml")], env=env, cwd=data,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while runner.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return runner, time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"the runner did not start: {runner.communicate()[1].decode()[-2000:]}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--model", default="local/hash")
    parser.add_argument("--batch-documents", type=int, default=16, help="INGEST_BATCH_DOCUMENTS (slices)")
    args = parser.parse_args()
    from minirag.local.invoke import sandbox_environment

    data = Path(tempfile.mkdtemp(prefix="minirag-crash-"))
    port = _port()
    api = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    sandbox_environment(env, data / "data", EMBEDDING_MODEL=args.model, PUBLIC_BASE_URL=api,
                        INGEST_BATCH_DOCUMENTS=str(args.batch_documents))
    env.pop("QDRANT_PATH", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "shared"), env.get("PYTHONPATH", "")])  # this checkout's code
    runner, boot = _start(data, port, env)
    token = httpx.post(f"{api}/v1/tenants", timeout=30, json={
        "tenant_name": "Crash", "tenant_slug": "crash", "owner_email": "o@crash.example",
        "owner_password": "correct horse battery"}).json()["raw_token"]
    auth = {"authorization": f"Bearer {token}"}
    bot = httpx.post(f"{api}/v1/bot-profiles", headers=auth, timeout=30, json={"name": "B"}).json()
    source = httpx.post(f"{api}/v1/sources", headers=auth, timeout=30, json={
        "bot_profile_id": bot["id"], "name": "corpus", "source_type": "upload", "filename": "corpus.jsonl"}).json()
    body = "\n".join(json.dumps({"id": f"d{i}", "text": f"Document {i} is about topic {i}."})
                     for i in range(args.documents)).encode()
    upload = source["upload"]
    assert httpx.put(upload["url"], content=body, headers=upload["headers"], timeout=60).status_code == 200

    def progress() -> dict:
        return httpx.get(f"{api}/v1/sources/{source['id']}", headers=auth, timeout=30).json()

    asked = time.perf_counter()
    httpx.post(f"{api}/v1/sources/{source['id']}/ingest", headers=auth, timeout=30)
    while True:
        seen = progress()
        if seen["status"] == "ready" or seen["progress"]["documents_done"] > 0:
            break
        time.sleep(0.01)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    killed_at = time.perf_counter() - asked
    print(f"kill -9 at {killed_at:.2f} s: status {seen['status']}, {seen['progress']['documents_done']}/"
          f"{seen['progress']['documents_total']} documents")

    runner, boot2 = _start(data, port, env)
    restarted = time.perf_counter()
    try:
        while (seen := progress())["status"] not in ("ready", "failed"):
            time.sleep(0.2)
        recovered = time.perf_counter() - restarted
    finally:
        runner.send_signal(signal.SIGINT)
        runner.wait(timeout=30)
    chunks = seen["progress"]["chunks"]
    print(f"restart: up in {boot2:.2f} s (first start {boot:.2f} s); source {seen['status']} {recovered:.2f} s "
          f"after the restart; {seen['progress']['documents_done']} documents, {chunks} chunks "
          f"(expected {args.documents}); last_error={seen['last_error']!r}")
    return 0 if seen["status"] == "ready" and chunks == args.documents else 1


if __name__ == "__main__":
    raise SystemExit(main())
