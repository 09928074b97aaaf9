"""`minirag chat BOT`: an interactive session (streamed answers, numbered citations), or one shot
with -m. The session is one stored chat: each question follows the ones before."""

from __future__ import annotations

import click

from minirag_client.cli import Session, pass_session
from minirag_client.errors import APIStatusError
from minirag_client.models import ChatAnswer, Citation

EXIT_WORDS = {"exit", "quit", ":q"}


def _citation_line(citation: Citation) -> str:
    where = citation.title or citation.filename or citation.source_id
    if citation.filename and citation.filename != where:
        where = f"{where} ({citation.filename})"
    snippet = " ".join(citation.snippet.split())
    return f"  [{citation.index}] {where}: {snippet[:140]}"


def ask(session: Session, bot_id: str, question: str, chat_id: str | None) -> ChatAnswer:
    """Stream one answer to the terminal; the stored turn (its chat id continues the session)."""
    out = session.out
    done: ChatAnswer | None = None
    for event in session.client.chats.stream(bot_id, question, chat_id=chat_id):
        if event.type == "token" and not out.as_json:
            click.echo(event.text, nl=False)
        elif event.type == "done":
            done = event.answer
        elif event.type == "error":
            raise APIStatusError(502, str(event.data.get("code", "error")), str(event.data.get("message", "")),
                                 list(event.data.get("details") or []), None)
    if done is None:
        raise click.ClickException("the answer stream ended without an answer")
    if out.as_json:
        out.data(done)
    else:
        click.echo()
        for citation in done.citations:
            click.echo(_citation_line(citation))
    return done


@click.command()
@click.argument("bot_id")
@click.option("-m", "--message", help="ask one question and exit")
@click.option("--chat", "chat_id", help="continue this stored chat")
@pass_session
def chat(session: Session, bot_id: str, message: str | None, chat_id: str | None) -> None:
    """Chat with a bot: streamed answers with numbered citations ([n] → source)."""
    if message is not None:
        ask(session, bot_id, message, chat_id)
        return
    session.out.say("Ask away; an empty line, 'exit' or Ctrl-D ends the session.")
    while True:
        try:
            question = click.prompt("you", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.exceptions.Abort):
            break
        if not question.strip() or question.strip().lower() in EXIT_WORDS:
            break
        chat_id = ask(session, bot_id, question, chat_id).chat_id


COMMANDS = (chat,)
