"""Ctrl-C of `minirag dev` after real work (an ingest that opened the embedded vector store): the
runner stops promptly and quietly — no traceback from the Qdrant client's own clean-up at exit."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from tests.runner_process import add_text_source, bootstrap_tenant, start_local_runner, stop, wait_until


def test_ctrl_c_after_an_ingest_stops_quietly_within_seconds(tmp_path: Path) -> None:
    # Given a local runner on the embedded default (vector store files under its data dir)
    runner, api = start_local_runner(tmp_path)
    try:
        # And a source ingested through it, so the embedded Qdrant store is open
        auth = bootstrap_tenant(api)
        source_id = add_text_source(api, auth)
        httpx.post(f"{api}/v1/sources/{source_id}/ingest", headers=auth, timeout=10)
        assert wait_until(lambda: httpx.get(f"{api}/v1/sources/{source_id}", headers=auth,
                                             timeout=5).json()["status"] == "ready", 60)

        # When the user presses Ctrl-C
        started = time.monotonic()
        runner.send_signal(signal.SIGINT)
        _, stderr = runner.communicate(timeout=15)
        stopped_after = time.monotonic() - started
    finally:
        stop(runner)

    # Then it exits cleanly within a few seconds, with no traceback
    assert runner.returncode == 0
    assert b"Traceback" not in stderr
    assert stopped_after < 6, f"took {stopped_after:.1f} s to stop"


def test_accepted_ingest_survives_kill_9_and_finishes_after_restart(tmp_path: Path) -> None:
    # Given a runner whose worker is not draining yet, and an ingest it accepted (202, queued)
    runner, api = start_local_runner(tmp_path, "--no-worker")
    try:
        auth = bootstrap_tenant(api)
        source_id = add_text_source(api, auth, "# Refunds\n\nRefunds take 14 days.")
        assert httpx.post(f"{api}/v1/sources/{source_id}/ingest", headers=auth, timeout=10).status_code == 202

        # When the process is killed without any chance to clean up
        runner.send_signal(signal.SIGKILL)
        runner.communicate(timeout=15)
    finally:
        stop(runner)

    # Then a restarted runner on the same data finds the work and finishes it
    runner, api = start_local_runner(tmp_path)
    try:
        assert wait_until(lambda: httpx.get(f"{api}/v1/sources/{source_id}", headers=auth,
                                             timeout=5).json()["status"] == "ready", 60)
        assert httpx.get(f"{api}/v1/sources/{source_id}", headers=auth, timeout=5).json()["progress"]["chunks"] == 1
    finally:
        stop(runner)
