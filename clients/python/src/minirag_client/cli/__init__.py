"""`minirag` user commands, built on the SDK: login, bots, sources (upload with progress, ingest,
follow until ready), chat, retrieve, stats, export, tokens. `minirag dev|migrate|...` (the server's
operator commands) stay in the server package, which hands these commands over to `main`."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import click

from minirag_client._sync.client import MiniRAG
from minirag_client.cli import profiles
from minirag_client.cli.output import Output
from minirag_client.errors import MiniRAGError

COMMANDS = ("login", "bots", "sources", "chat", "retrieve", "stats", "export", "tokens")


@dataclass
class Session:
    """What every command gets: where the API is, with which credential, and how to print."""

    profile: profiles.Profile
    out: Output
    timeout: float = 30.0
    _client: MiniRAG | None = field(default=None, repr=False)

    @property
    def client(self) -> MiniRAG:
        if self._client is None:
            self._client = MiniRAG(self.profile.url, token=self.profile.token or "", timeout=self.timeout)
        return self._client


pass_session = click.make_pass_decorator(Session)


class _Group(click.Group):
    """API errors end the command with one line on stderr and the exit code for their kind."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (MiniRAGError, TimeoutError) as error:
            session = ctx.find_object(Session)
            out = session.out if session is not None else Output(as_json=False)
            ctx.exit(out.fail(error))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", envvar="MINIRAG_URL", help="the API (default: the profile's, or http://127.0.0.1:8000)")
@click.option("--token", envvar="MINIRAG_TOKEN", help="an API token or a JWT (default: the profile's)")
@click.option("--profile", "profile_name", default="default", show_default=True, help="profile in the profile file")
@click.option("--json", "as_json", is_flag=True, help="print JSON (for scripts) instead of tables")
@click.pass_context
def cli(ctx: click.Context, url: str | None, token: str | None, profile_name: str, as_json: bool) -> None:
    """MiniRAG from the command line."""
    ctx.obj = Session(profiles.load(profile_name, url, token), Output(as_json))


def _register() -> None:
    from minirag_client.cli import chat, commands, sources

    for module in (commands, sources, chat):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> int:
    """Run a user command; the exit code (0 ok; see minirag_client.cli.output for the others)."""
    try:
        # Not standalone: Click returns the code of a `ctx.exit(code)` instead of exiting.
        returned = cli.main(args=list(sys.argv[1:] if argv is None else argv), prog_name="minirag",
                            standalone_mode=False)
        return returned if isinstance(returned, int) else 0
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
