"""The `minirag` user commands, run as a user runs them (subprocesses of the real entry point)
against the real local runner: login into a profile, bots, sources added from a folder and a glob
with progress until ready, one-shot and interactive chat with numbered citations, retrieve, stats,
export, tokens; tables by default, --json for scripts; one-line errors with distinct exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from minirag_client import MiniRAG


@pytest.fixture
def tenant_token(runner_url: str, unique: str) -> str:
    with MiniRAG(runner_url, token="") as anonymous:
        return anonymous.tenants.create(name="Acme", slug=f"cli-{unique}", owner_email=f"o@{unique}.example",
                                        owner_password="correct horse battery").api_token


@pytest.fixture
def run(tmp_path: Path, runner_url: str):
    """`minirag ARGS` with its own profile file; returns (exit code, stdout, stderr)."""
    config = tmp_path / "profiles.json"

    def invoke(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("MINIRAG_")}
        environment.update({"MINIRAG_CONFIG": str(config), "COLUMNS": "200", **(env or {})})
        done = subprocess.run([sys.executable, "-m", "minirag.cli", *args], input=stdin, capture_output=True,
                              text=True, env=environment, timeout=120, cwd=tmp_path)
        return done.returncode, done.stdout, done.stderr

    invoke.config = config  # type: ignore[attr-defined]
    return invoke


def test_login_saves_a_private_profile_that_later_commands_use(run, runner_url, tenant_token):
    code, out, err = run("--url", runner_url, "--token", tenant_token, "login")
    assert code == 0, err
    assert "logged in to" in out and "owner" in out
    assert stat.S_IMODE(run.config.stat().st_mode) == 0o600
    assert json.loads(run.config.read_text())["default"] == {"url": runner_url, "token": tenant_token}

    code, out, err = run("--json", "bots", "create", "Support", "--prompt", "Answer from the sources only.")
    assert code == 0, err
    bot = json.loads(out)
    code, out, _ = run("bots", "list")
    assert code == 0 and bot["id"] in out and "Support" in out  # a table
    code, out, _ = run("--json", "bots", "show", bot["id"])
    assert json.loads(out)["name"] == "Support"


def test_sources_add_uploads_a_folder_and_a_glob_and_follows_them_until_ready(run, runner_url, tenant_token,
                                                                              tmp_path: Path):
    env = {"MINIRAG_URL": runner_url, "MINIRAG_TOKEN": tenant_token}
    bot = json.loads(run("--json", "bots", "create", "Docs", env=env)[1])
    docs = tmp_path / "docs"
    (docs / "policies").mkdir(parents=True)
    (docs / "refunds.md").write_text("# Refunds\n\nRefunds are paid within 14 days of the return.\n")
    (docs / "policies" / "shipping.txt").write_text("Orders ship within 2 business days.\n")
    (docs / ".hidden.md").write_text("never uploaded")
    (tmp_path / "faq-1.md").write_text("# FAQ\n\nThe office opens at 9am.\n")

    code, out, err = run("sources", "add", str(docs), str(tmp_path / "faq-*.md"), "--bot", bot["id"], env=env)

    assert code == 0, err
    assert "upload refunds.md" in err and "upload shipping.txt" in err and "ingest" in err  # the progress bars
    assert out.count("ready") == 3 and ".hidden" not in out + err
    code, out, _ = run("--json", "sources", "list", "--bot", bot["id"], env=env)
    assert sorted(s["name"] for s in json.loads(out)) == ["faq-1.md", "refunds.md", "shipping.txt"]


def test_sources_add_takes_a_url(run, runner_url, tenant_token, web_server):
    env = {"MINIRAG_URL": runner_url, "MINIRAG_TOKEN": tenant_token}
    web_server.pages["/returns.html"] = ("text/html", b"<h1>Returns</h1><p>Returns are free for 30 days.</p>")
    bot = json.loads(run("--json", "bots", "create", "Web", env=env)[1])

    code, out, err = run("--json", "sources", "add", f"{web_server.base_url}/returns.html", "--bot", bot["id"], env=env)

    assert code == 0, err
    [source] = json.loads(out)
    assert source["source_type"] == "url" and source["status"] == "ready" and source["chunk_count"] == 1


def test_no_wait_then_status_wait(run, runner_url, tenant_token, tmp_path: Path):
    env = {"MINIRAG_URL": runner_url, "MINIRAG_TOKEN": tenant_token}
    bot = json.loads(run("--json", "bots", "create", "Docs", env=env)[1])
    (tmp_path / "a.md").write_text("Parcels are insured up to 500 euros.")
    code, out, err = run("--json", "sources", "add", str(tmp_path / "a.md"), "--bot", bot["id"], "--no-wait", env=env)
    assert code == 0, err
    [queued] = json.loads(out)
    assert queued["status"] in ("queued", "processing", "ready")

    code, out, err = run("--json", "sources", "status", queued["id"], "--wait", env=env)
    assert code == 0, err
    assert json.loads(out)["status"] == "ready"


def test_chat_one_shot_and_interactive_with_numbered_citations(run, runner_url, tenant_token, tmp_path: Path):
    env = {"MINIRAG_URL": runner_url, "MINIRAG_TOKEN": tenant_token}
    bot = json.loads(run("--json", "bots", "create", "Support", env=env)[1])
    (tmp_path / "handbook.md").write_text("# Refunds\n\nLaptop refunds take 30 days. Phone refunds take 14 days.\n")
    assert run("sources", "add", str(tmp_path / "handbook.md"), "--bot", bot["id"], env=env)[0] == 0

    code, out, err = run("chat", bot["id"], "-m", "How long do laptop refunds take?", env=env)
    assert code == 0, err
    assert "30 days [1]" in out and "[1] Refunds (handbook.md):" in out

    code, out, err = run("chat", bot["id"], stdin="How long do laptop refunds take?\nAnd phones?\n\n", env=env)
    assert code == 0, err
    assert "30 days" in out and "14 days" in out and out.count("[1] Refunds (handbook.md):") == 2

    code, out, _ = run("--json", "chat", bot["id"], "-m", "How long do phone refunds take?", env=env)
    answer = json.loads(out)
    assert "14 days" in answer["answer"] and answer["citations"][0]["index"] == 1

    code, out, _ = run("retrieve", bot["id"], "laptop refund", "--top-k", "1", env=env)
    assert code == 0 and "Laptop refunds take 30 days" in out


def test_stats_export_and_tokens(run, runner_url, tenant_token, tmp_path: Path):
    env = {"MINIRAG_URL": runner_url, "MINIRAG_TOKEN": tenant_token}
    bot = json.loads(run("--json", "bots", "create", "Support", env=env)[1])
    assert run("chat", bot["id"], "-m", "Hello?", env=env)[0] == 0

    code, out, _ = run("--json", "stats", env=env)
    assert code == 0 and json.loads(out)["overview"]["chats"] == 1
    code, out, _ = run("stats", env=env)
    assert code == 0 and "By model" in out

    target = tmp_path / "chats.csv"
    code, _, err = run("export", "--format", "csv", "-o", str(target), env=env)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [r["role"] for r in rows] == ["user", "assistant"]

    code, out, _ = run("--json", "tokens", "create", "ci", "--scope", "read", env=env)
    created = json.loads(out)
    assert code == 0 and created["raw_token"].startswith("mrg_") and created["scopes"] == ["read"]
    code, out, _ = run("tokens", "list", env=env)
    assert created["id"] in out and created["raw_token"] not in out
    assert run("tokens", "revoke", created["id"], env=env)[0] == 0
    code, _, err = run("bots", "list", env={**env, "MINIRAG_TOKEN": created["raw_token"]})
    assert code == 3 and err.startswith("error: ")


def test_errors_are_one_line_with_exit_codes_scripts_can_rely_on(run, runner_url, tenant_token, tmp_path: Path):
    env = {"MINIRAG_URL": runner_url, "MINIRAG_TOKEN": tenant_token}
    code, out, err = run("bots", "show", "00000000-0000-4000-8000-000000000000", env=env)
    assert (code, out) == (4, "") and len(err.strip().splitlines()) == 1 and "not found" in err and "request" in err

    code, _, err = run("bots", "list", env={**env, "MINIRAG_TOKEN": "mrg_not-a-token"})
    assert code == 3 and len(err.strip().splitlines()) == 1

    code, _, err = run("bots", "list", env={**env, "MINIRAG_URL": "http://127.0.0.1:9"})
    assert code == 7 and "cannot reach" in err

    code, _, err = run("bots", "create", "x" * 300, env=env)
    assert code == 1 and "name" in err

    bot = json.loads(run("--json", "bots", "create", "Docs", env=env)[1])
    (tmp_path / "blank.txt").write_text("   \n   \n")
    code, out, err = run("sources", "add", str(tmp_path / "blank.txt"), "--bot", bot["id"], env=env)
    assert code == 5 and "error" in out

    code, _, err = run("sources", "add", str(tmp_path / "nothing-*.md"), "--bot", bot["id"], env=env)
    assert code == 2 and "no file, folder or URL matches" in err
