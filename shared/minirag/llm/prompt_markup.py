"""The markup of MiniRAG's prompts, written once: the prompt builder (`services/prompting.py`) writes
it and the offline answerer (`llm/offline/extractive.py`) reads it back, so the two cannot drift.

An answer request's user message is ``<context>`` with numbered passages (``[n] `` lines, an optional
``Title:`` first line) followed by ``<question>``; a follow-up rewrite request is
``<rewrite><history>…</history><followup>…</followup></rewrite>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

CONTEXT, QUESTION, REWRITE, HISTORY, FOLLOWUP = "context", "question", "rewrite", "history", "followup"
TITLE_PREFIX = "Title:"


def passage(number: int, title: str | None, body: str) -> str:
    """One numbered passage: ``[n] Title: …`` on its own line when there is a title."""
    return (f"[{number}] {TITLE_PREFIX} {title}\n" if title else f"[{number}] ") + body


def answer_request(passages: Sequence[str], question: str) -> str:
    return f"<{CONTEXT}>\n" + "\n\n".join(passages) + f"\n</{CONTEXT}>\n<{QUESTION}>{question}</{QUESTION}>"


def rewrite_request(history_lines: str, followup: str) -> str:
    return (f"<{REWRITE}>\n<{HISTORY}>\n{history_lines}\n</{HISTORY}>\n"
            f"<{FOLLOWUP}>{followup}</{FOLLOWUP}>\n</{REWRITE}>")


def block(tag: str) -> re.Pattern[str]:
    """The pattern of one ``<tag>…</tag>`` block (case-insensitive; ``followup`` also as ``follow-up``)."""
    name = "follow-?up" if tag == FOLLOWUP else tag
    return re.compile(rf"<{name}>(.*?)</{name}>", re.S | re.I)


PASSAGE_MARKER = re.compile(r"^[ \t]*\[(\d+)\][ \t]?", re.M)


def split_title(body: str) -> tuple[str, str]:
    """A passage body's ``Title:`` first line, if any, and the rest."""
    first, _, rest = body.partition("\n")
    if first.lower().startswith(TITLE_PREFIX.lower()):
        return first[len(TITLE_PREFIX):].strip(), rest
    return "", body
