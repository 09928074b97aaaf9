"""The markup of MiniRAG's prompts, written once: the prompt builder (`services/prompting.py`) writes
it and the offline answerer (`llm/offline/extractive.py`) reads it back, so the two cannot drift.

An answer request's user message is ``<context>`` with numbered passages (``[n] `` lines, an optional
``Title:`` first line) followed by ``<question>``; a follow-up rewrite request is
``<rewrite><history>…</history><followup>…</followup></rewrite>``.

Passages, titles, questions and history are untrusted (any source, a URL's page, any user), so
`neutral` escapes the ``<`` of anything that looks like one of these tags before it is placed:
a planted ``</context>`` or ``<rewrite>…`` stays text (``&lt;/context>``) for a real model, and the
offline answerer, which reads only the markup written here, cannot find it either. Other markup
(``<div>``, ``a < b``) is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

CONTEXT, QUESTION, REWRITE, HISTORY, FOLLOWUP = "context", "question", "rewrite", "history", "followup"
TITLE_PREFIX = "Title:"


_TAG_START = re.compile(rf"<(?=\s*/?\s*(?:{CONTEXT}|{QUESTION}|{REWRITE}|{HISTORY}|follow-?up)\b)", re.I)
_ESCAPED_TAG_START = re.compile(rf"&lt;(?=\s*/?\s*(?:{CONTEXT}|{QUESTION}|{REWRITE}|{HISTORY}|follow-?up)\b)", re.I)


def neutral(text: str) -> str:
    """Untrusted text with the prompt's own tags disarmed (``<context>`` → ``&lt;context>``)."""
    return _TAG_START.sub("&lt;", text)


def restore(text: str) -> str:
    """The inverse of `neutral`, for text quoted back to a user (the offline answer)."""
    return _ESCAPED_TAG_START.sub("<", text)


def passage(number: int, title: str | None, body: str) -> str:
    """One numbered passage: ``[n] Title: …`` on its own line when there is a title."""
    return (f"[{number}] {TITLE_PREFIX} {neutral(title)}\n" if title else f"[{number}] ") + neutral(body)


def answer_request(passages: Sequence[str], question: str) -> str:
    """`passages` as written by `passage` (already neutral)."""
    return (f"<{CONTEXT}>\n" + "\n\n".join(passages)
            + f"\n</{CONTEXT}>\n<{QUESTION}>{neutral(question)}</{QUESTION}>")


def rewrite_request(history_lines: str, followup: str) -> str:
    return (f"<{REWRITE}>\n<{HISTORY}>\n{neutral(history_lines)}\n</{HISTORY}>\n"
            f"<{FOLLOWUP}>{neutral(followup)}</{FOLLOWUP}>\n</{REWRITE}>")


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
