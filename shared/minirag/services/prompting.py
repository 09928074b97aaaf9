"""Prompt assembly for grounded answers, within the model's context budget.

The layout is also the contract of the offline `local/extractive` model: the last user message
holds `<context>` with numbered passages (`[n] ` lines, optional `Title:` line) and
`<question>`; a follow-up rewrite request holds `<rewrite><history>…</history><followup>…</followup></rewrite>`.
Real models get the same text plus the instructions in the system message."""

from __future__ import annotations

import re
from typing import Any, Sequence

from minirag.services.retrieval import RetrievedChunk

ANSWER_RULES = (
    "Answer the question using only the numbered passages in <context>. After every claim, cite the "
    "passage(s) it comes from with their numbers in square brackets, like [1] or [2][3]. If the passages "
    "do not contain the answer, say that you do not know; never invent facts or citations."
)
REWRITE_RULES = (
    "Rewrite the follow-up question into one standalone search query, using the conversation only to "
    "resolve references. Reply with the query alone."
)
DEFAULT_CONTEXT_WINDOW = 8192
SAFETY_MARGIN_TOKENS = 256
_WORDISH = re.compile(r"\w+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """A cheap over-estimate (words and punctuation × 1.3), good enough to stay inside a budget."""
    return int(len(_WORDISH.findall(text)) * 1.3) + 1


def context_window(model: str) -> int:
    """The model's input window where LiteLLM knows it, else a conservative default."""
    if model.startswith("local/"):
        return DEFAULT_CONTEXT_WINDOW
    try:
        import litellm

        info = litellm.get_model_info(model)
        return int(info.get("max_input_tokens") or info.get("max_tokens") or DEFAULT_CONTEXT_WINDOW)
    except Exception:  # unknown model: stay conservative
        return DEFAULT_CONTEXT_WINDOW


def format_passage(number: int, chunk: RetrievedChunk) -> str:
    title = chunk.title or chunk.heading
    head = f"[{number}] Title: {title}\n" if title else f"[{number}] "
    return head + chunk.text.strip()


def build_answer_messages(*, system_prompt: str, history: Sequence[dict[str, str]], chunks: Sequence[RetrievedChunk],
                          question: str, model: str, max_tokens: int) -> tuple[list[dict[str, str]], list[RetrievedChunk]]:
    """Messages for the answer call and the chunks actually included (passage n = chunks[n-1]).

    Budget order: instructions and the question always; then passages in rank order; then as much
    recent history as still fits (most recent first)."""
    budget = context_window(model) - max_tokens - SAFETY_MARGIN_TOKENS
    system = f"{system_prompt.strip()}\n\n{ANSWER_RULES}".strip()
    used = estimate_tokens(system) + estimate_tokens(question) + 40
    included: list[RetrievedChunk] = []
    passages: list[str] = []
    for chunk in chunks:
        text = format_passage(len(included) + 1, chunk)
        cost = estimate_tokens(text)
        if used + cost > budget and included:
            break
        included.append(chunk)
        passages.append(text)
        used += cost
    kept_history: list[dict[str, str]] = []
    for turn in reversed(history):
        cost = estimate_tokens(turn["content"]) + 4
        if used + cost > budget:
            break
        kept_history.insert(0, {"role": turn["role"], "content": turn["content"]})
        used += cost
    user = "<context>\n" + "\n\n".join(passages) + "\n</context>\n<question>" + question + "</question>"
    return [{"role": "system", "content": system}, *kept_history, {"role": "user", "content": user}], included


def build_rewrite_messages(history: Sequence[dict[str, str]], followup: str) -> list[dict[str, str]]:
    lines = "\n".join(f"{t['role']}: {' '.join(t['content'].split())}" for t in history)
    return [
        {"role": "system", "content": REWRITE_RULES},
        {"role": "user", "content": f"<rewrite>\n<history>\n{lines}\n</history>\n<followup>{followup}</followup>\n</rewrite>"},
    ]


_CITATION = re.compile(r"\[(\d{1,3})\]")


def renumber_citations(answer: str, included: Sequence[RetrievedChunk]) -> tuple[str, list[tuple[int, RetrievedChunk]]]:
    """Keep only the passages the answer cites, renumbered 1..m in order of first citation, so
    `[n]` in the returned text is `citations[n-1]`. Markers that point at no passage are removed."""
    mapping: dict[int, int] = {}
    cited: list[tuple[int, RetrievedChunk]] = []

    def replace(match: re.Match[str]) -> str:
        original = int(match.group(1))
        if not 1 <= original <= len(included):
            return ""
        if original not in mapping:
            mapping[original] = len(mapping) + 1
            cited.append((mapping[original], included[original - 1]))
        return f"[{mapping[original]}]"

    text = _CITATION.sub(replace, answer)
    return re.sub(r" +([.,;:!?])", r"\1", text).strip(), cited


def history_turns(messages: Sequence[Any]) -> list[dict[str, str]]:
    return [{"role": m.role.value, "content": m.content} for m in messages]
