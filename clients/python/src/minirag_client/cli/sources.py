"""`minirag sources add|list|status`: upload files (a progress bar each), add URLs, ingest them and
follow each until it is ready."""

from __future__ import annotations

import glob
import time
from pathlib import Path
from typing import Callable

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from minirag_client.cli import Session, pass_session
from minirag_client.cli.output import EXIT_INGEST, EXIT_TIMEOUT
from minirag_client.models import Source

SOURCE_FIELDS = ("id", "name", "source_type", "status", "chunk_count", "last_error", "bot_profile_id", "url",
                 "filename", "is_active", "created_at", "finished_at")


def expand(inputs: tuple[str, ...]) -> list[str | Path]:
    """URLs as they are; folders as their files (recursively, hidden ones skipped); globs expanded."""
    found: list[str | Path] = []
    for item in inputs:
        if item.startswith(("http://", "https://")):
            found.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file()
                            and not any(part.startswith(".") for part in p.relative_to(path).parts))
        elif path.is_file():
            found.append(path)
        else:
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True) if Path(m).is_file())
            if not matches:
                raise click.BadParameter(f"no file, folder or URL matches {item!r}", param_hint="PATH")
            found += matches
    return found


def _bar(bars: Progress, task: TaskID) -> Callable[[int, int], None]:
    def update(sent: int, total: int) -> None:
        bars.update(task, completed=sent, total=total)

    return update


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


@click.group()
def sources() -> None:
    """Knowledge sources."""


@sources.command("add")
@click.argument("inputs", nargs=-1, required=True, metavar="PATH|DIR|GLOB|URL...")
@click.option("--bot", "bot_id", required=True, help="the bot the sources are for")
@click.option("--no-wait", is_flag=True, help="queue the ingests and return without following them")
@click.option("--timeout", type=float, default=600, show_default=True, help="seconds to wait for all to be ready")
@click.option("--multipart", is_flag=True, help="upload in one request instead of a presigned PUT (small files)")
@pass_session
def sources_add(session: Session, inputs: tuple[str, ...], bot_id: str, no_wait: bool, timeout: float,
                multipart: bool) -> None:
    """Upload files and add URLs to a bot, ingest them, and show each one's progress until ready."""
    client, console = session.client, Console(stderr=True)
    items = expand(inputs)
    created: list[Source] = []
    with _progress(console) as bars:
        for item in items:
            if isinstance(item, str):
                created.append(client.sources.create_url(bot_id, item[:200], item))
                continue
            task = bars.add_task(f"upload {item.name}", total=item.stat().st_size)
            created.append(client.sources.upload(bot_id, item, method="multipart" if multipart else "presigned",
                                                 on_progress=_bar(bars, task)))
    for source in created:
        client.sources.ingest(source.id)
    if no_wait:
        _report(session, [client.sources.get(s.id) for s in created])
        return
    finished = follow(session, [s.id for s in created], timeout, console)
    _report(session, finished)
    if any(s.status == "error" for s in finished):
        click.get_current_context().exit(EXIT_INGEST)
    if any(s.status != "ready" for s in finished):
        console.print(f"error: not all sources were ready after {timeout:g} s", highlight=False)
        click.get_current_context().exit(EXIT_TIMEOUT)


def follow(session: Session, source_ids: list[str], timeout: float, console: Console) -> list[Source]:
    """Poll the sources until each is ready or error (or the timeout), one progress line each."""
    client = session.client
    deadline = time.monotonic() + timeout
    latest: dict[str, Source] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[state]}"),
                  TimeElapsedColumn(), console=console) as bars:
        tasks: dict[str, TaskID] = {}
        while True:
            for source_id in source_ids:
                if source_id in latest and latest[source_id].done:
                    continue
                source = latest[source_id] = client.sources.get(source_id)
                if source_id not in tasks:
                    tasks[source_id] = bars.add_task(f"ingest {source.name[:40]}", total=None, state="")
                total = source.progress.documents_total or None
                state = f"{source.status} · {source.progress.chunks} chunks"
                if source.status == "error":
                    state = f"error: {source.last_error}"
                bars.update(tasks[source_id], total=total if not source.done else 1,
                            completed=source.progress.documents_done if not source.done else 1, state=state)
            if all(s.done for s in latest.values()) or time.monotonic() >= deadline:
                return [latest[i] for i in source_ids]
            time.sleep(0.5)


def _report(session: Session, finished: list[Source]) -> None:
    session.out.table(finished, ("id", "name", "status", "chunk_count", "last_error"), title="Sources")


@sources.command("list")
@click.option("--bot", "bot_id", help="only this bot's sources")
@click.option("--status", type=click.Choice(["pending", "queued", "processing", "ready", "error"]))
@click.option("--all", "include_inactive", is_flag=True, help="also deactivated sources")
@pass_session
def sources_list(session: Session, bot_id: str | None, status: str | None, include_inactive: bool) -> None:
    """List sources."""
    session.out.table(session.client.sources.list(bot_profile_id=bot_id, status=status,
                                                  include_inactive=include_inactive),
                      ("id", "name", "source_type", "status", "chunk_count", "is_active"), title="Sources")


@sources.command("status")
@click.argument("source_id")
@click.option("--wait", is_flag=True, help="follow it until ready (or error)")
@click.option("--timeout", type=float, default=600, show_default=True)
@pass_session
def sources_status(session: Session, source_id: str, wait: bool, timeout: float) -> None:
    """Show a source's status and progress."""
    source = session.client.sources.get(source_id)
    if wait and not source.done:
        source = follow(session, [source_id], timeout, Console(stderr=True))[0]
    session.out.record(source, SOURCE_FIELDS)
    if source.status == "error":
        click.get_current_context().exit(EXIT_INGEST)


COMMANDS = (sources,)
