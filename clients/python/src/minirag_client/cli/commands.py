"""`minirag login`, `bots`, `tokens`, `retrieve`, `stats` and `export`."""

from __future__ import annotations

import sys

import click

from minirag_client._sync.client import MiniRAG
from minirag_client.cli import Session, pass_session, profiles

BOT_FIELDS = ("id", "name", "model", "description", "is_active", "has_credentials", "max_tokens", "temperature",
              "top_k", "created_at")


@click.command()
@click.option("--email", help="log in with email and password (a JWT, valid for its lifetime)")
@click.option("--password", help="(prompted when --email is given without it)")
@pass_session
def login(session: Session, email: str | None, password: str | None) -> None:
    """Save the API URL and a credential in the profile: --token (an API token) or --email."""
    profile = session.profile
    if email:
        password = password or click.prompt("Password", hide_input=True)
        with MiniRAG(profile.url, token="") as anonymous:
            profile.token = anonymous.auth.login(email, password).access_token
    if not profile.token:
        raise click.UsageError("give --token (or MINIRAG_TOKEN), or --email to log in with a password")
    with MiniRAG(profile.url, token=profile.token) as client:
        me = client.auth.me()  # proves the credential works before it is saved
    path = profiles.save(profile)
    session.out.say(f"logged in to {profile.url} as {me['user']['email']} ({me['user']['role']}, tenant "
                    f"{me['tenant']['slug']}); profile '{profile.name}' saved in {path}")
    if session.out.as_json:
        session.out.data({"url": profile.url, "profile": profile.name, "user": me["user"], "tenant": me["tenant"]})


@click.group()
def bots() -> None:
    """Bot profiles."""


@bots.command("create")
@click.argument("name")
@click.option("--model", help="a LiteLLM model string (default: the platform's)")
@click.option("--prompt", "system_prompt", help="the system prompt")
@click.option("--description")
@pass_session
def bots_create(session: Session, name: str, model: str | None, system_prompt: str | None,
                description: str | None) -> None:
    """Create a bot."""
    bot = session.client.bots.create(name, model=model, system_prompt=system_prompt, description=description)
    session.out.record(bot, BOT_FIELDS)


@bots.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="also deactivated bots")
@pass_session
def bots_list(session: Session, include_inactive: bool) -> None:
    """List the tenant's bots."""
    session.out.table(session.client.bots.list(include_inactive=include_inactive),
                      ("id", "name", "model", "is_active", "created_at"), title="Bots")


@bots.command("show")
@click.argument("bot_id")
@pass_session
def bots_show(session: Session, bot_id: str) -> None:
    """Show one bot."""
    session.out.record(session.client.bots.get(bot_id), BOT_FIELDS + ("system_prompt", "embedding_model"))


@click.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, help="chat, retrieve, read, write, admin (repeat; default: all "
                                                      "your role allows)")
@click.option("--bot", "bot_profile_id", help="bind to one bot: a publishable chat key")
@click.option("--origin", "allowed_origins", multiple=True, help="allowed web origin for a publishable key (repeat)")
@pass_session
def tokens_create(session: Session, name: str, scopes: tuple[str, ...], bot_profile_id: str | None,
                  allowed_origins: tuple[str, ...]) -> None:
    """Create a token; its secret is printed once."""
    token = session.client.tokens.create(name, scopes=list(scopes) or None, bot_profile_id=bot_profile_id,
                                         allowed_origins=list(allowed_origins) or None)
    session.out.record(token, ("id", "name", "token_prefix", "scopes", "bot_profile_id", "allowed_origins",
                               "raw_token"))
    session.out.say("The raw token is shown only now: store it.")


@tokens.command("list")
@pass_session
def tokens_list(session: Session) -> None:
    """List the tenant's tokens (never their secrets)."""
    session.out.table(session.client.tokens.list(), ("id", "name", "token_prefix", "scopes", "bot_profile_id",
                                                     "last_used_at", "revoked_at"), title="API tokens")


@tokens.command("revoke")
@click.argument("token_id")
@pass_session
def tokens_revoke(session: Session, token_id: str) -> None:
    """Revoke a token (it stops working at once)."""
    session.client.tokens.revoke(token_id)
    session.out.say(f"revoked {token_id}")
    if session.out.as_json:
        session.out.data({"revoked": token_id})


@click.command()
@click.argument("bot_id")
@click.argument("query")
@click.option("--top-k", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--mode", type=click.Choice(["hybrid", "dense", "sparse"]), default="hybrid", show_default=True)
@pass_session
def retrieve(session: Session, bot_id: str, query: str, top_k: int, mode: str) -> None:
    """Ranked chunks for QUERY, without a model call."""
    chunks = session.client.chats.retrieve(bot_id, query, top_k=top_k, mode=mode)
    rows = [{**c.model_dump(mode="json"), "text": " ".join(c.text.split())[:160]} for c in chunks]
    session.out.table(rows if not session.out.as_json else chunks, ("rank", "score", "title", "text"),
                      title=f"Retrieved for {query!r}")


@click.command()
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True)
@pass_session
def stats(session: Session, days: int) -> None:
    """Usage and cost: the tenant's totals and the last DAYS by model."""
    overview = session.client.stats.overview()
    by_model = session.client.stats.by_model(days=days)
    if session.out.as_json:
        session.out.data({"overview": overview.model_dump(), "by_model": by_model})
        return
    session.out.record(overview, tuple(overview.model_dump()))
    session.out.table(by_model, ("model", "requests", "prompt_tokens", "completion_tokens", "cost_usd", "pricing"),
                      title=f"By model, last {days} days (UTC)")


@click.command()
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl", "csv"]), default="json", show_default=True)
@click.option("--from", "start", help="first UTC day, YYYY-MM-DD")
@click.option("--to", "end", help="last UTC day (inclusive), YYYY-MM-DD")
@click.option("--bot", "bot_profile_id", help="only this bot's chats")
@click.option("--chat", "chat_id", help="only this chat")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="file (default: stdout)")
@pass_session
def export(session: Session, fmt: str, start: str | None, end: str | None, bot_profile_id: str | None,
           chat_id: str | None, output: str | None) -> None:
    """Export chat messages."""
    body = session.client.chats.export(format=fmt, start=start, end=end, bot_profile_id=bot_profile_id,
                                       chat_id=chat_id)
    if output:
        with open(output, "wb") as handle:
            handle.write(body)
        click.echo(f"wrote {len(body)} bytes to {output}", err=True)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()


COMMANDS = (login, bots, tokens, retrieve, stats, export)
