"""The README's curl walkthrough, run as written with bash against a real local runner: it reaches
a cited answer, so the README cannot drift from the product."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.runner_process import ROOT, free_port, start_local_runner, stop


def _walkthrough() -> str:
    section = (ROOT / "README.md").read_text().split("## Try it (curl)", 1)[1].split("\n## ", 1)[0]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walkthrough uses curl")
def test_readme_walkthrough_reaches_a_cited_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a local runner (allowed to POST webhooks to 127.0.0.1, as step 13 says) and the README's
    # block as a script
    monkeypatch.setenv("URL_FETCH_ALLOW_PRIVATE", "true")
    runner, api = start_local_runner(tmp_path)
    script = tmp_path / "walkthrough.sh"
    script.write_text(_walkthrough())
    work = tmp_path / "work"
    work.mkdir()
    try:
        # When it runs, stopping at the first failing command
        result = subprocess.run(["bash", "-e", str(script)], cwd=work, capture_output=True, text=True, timeout=240,
                                env={**os.environ, "API": api, "HOOK_PORT": str(free_port())})
    finally:
        stop(runner)

    # Then every step worked: both sources became ready, the answers cite the planted facts,
    # the follow-up found the uploaded file, the stream ended with `done`, retrieval ranked chunks
    out = result.stdout
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Handbook is ready" in out and "Shipping guide is ready" in out
    assert "Refunds are paid within 14 days of the return [1]." in out
    assert "Orders ship within 2 business days" in out
    assert "event: start" in out and "event: done" in out
    assert '"rank":1' in out
    assert 'rel="next"' in out and "cursor=" in out  # the list's next page, in the Link header
    assert '{"status":"ok"}' in out and '"status":"ok","checks":{"database":{"status":"ok"' in out
    assert '"bots":1,"sources":2,"chats":2,"messages":6' in out and "Exported 6 messages" in out
    # and the member may not create a bot, and the publishable key refuses a page from another origin
    assert "requires bots:write (admin or owner)" in out and '"code":"origin_not_allowed"' in out
    # and the webhook receiver got a source.ingested whose two signatures it verified
    assert "webhook source.ingested for " in out and ": signatures verified" in out
    assert "News is ready and its webhook arrived" in out
    # the filtered chat turn answers from the EU source only, and so does the filtered retrieve
    assert "EU returns is ready" in out
    assert out.count("Returns from the EU are collected by courier within 5 days") >= 2
