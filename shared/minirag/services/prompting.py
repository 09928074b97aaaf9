"""Prompt assembly for grounded answers, within the model's context budget, and the citation
renumbering applied to the model's answer (streamed or not).

The layout is also the contract of the offline `local/extractive` model: the last user message
holds `<context>` with numbered passages (`[n] ` lines, optional `Title:` line) and
`<question>`; a follow-up rewrite request holds `<rewrite><history>…</history><followup>…</followup></rewrite>`.
Real models get the same text plus the instructions in the system message."""

from __future__ import annotations

import re
from typing import Any, Sequence

from minirag.llm import prompt_markup as markup
from minirag.llm.model_policy import is_hosted
from minirag.llm.tokens import estimate_tokens
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
MESSAGE_OVERHEAD_TOKENS = 4
# CJK characters count one each (a run of them is not one "word"); long words count per 10 chars.


def context_window(model: str) -> int:
    """The model's input window where LiteLLM's catalogue knows it, else a conservative default.
    Not for self-hosted providers: LiteLLM would ask their server (ollama: localhost:11434)."""
    if model.startswith("local/") or not is_hosted(model):
        return DEFAULT_CONTEXT_WINDOW
    try:
        import litellm

        info = litellm.get_model_info(model)
        return int(info.get("max_input_tokens") or info.get("max_tokens") or DEFAULT_CONTEXT_WINDOW)
    except Exception:  # unknown model: stay conservative
        return DEFAULT_CONTEXT_WINDOW


def format_passage(number: int, chunk: RetrievedChunk, body: str | None = None) -> str:
    return markup.passage(number, chunk.title or chunk.heading, chunk.text.strip() if body is None else body)


def _truncate_to(text: str, tokens: int) -> str:
    """The longest word-boundary prefix of `text` whose estimate fits `tokens` (at least one word)."""
    words = text.split()
    low, high = 1, len(words)
    while low < high:  # binary search on the word count
        mid = (low + high + 1) // 2
        if estimate_tokens(" ".join(words[:mid])) <= tokens:
            low = mid
        else:
            high = mid - 1
    return " ".join(words[:low]) + (" …" if low < len(words) else "")


def build_answer_messages(*, system_prompt: str, history: Sequence[dict[str, str]], chunks: Sequence[RetrievedChunk],
                          question: str, model: str, max_tokens: int,
                          window: int | None = None) -> tuple[list[dict[str, str]], list[RetrievedChunk]]:
    """Messages for the answer call and the chunks actually included (passage n = chunks[n-1]).

    Budget (the model's input window less `max_tokens` for the answer and a safety margin): the
    instructions and the question always; then passages in rank order until one does not fit
    (the best passage is cut to fit rather than dropped); then as much recent history as still
    fits, most recent first, so the oldest turns go first."""
    budget = (window or context_window(model)) - max_tokens - SAFETY_MARGIN_TOKENS
    system = f"{system_prompt.strip()}\n\n{ANSWER_RULES}".strip()
    used = estimate_tokens(system) + estimate_tokens(question) + 40 + 2 * MESSAGE_OVERHEAD_TOKENS
    included: list[RetrievedChunk] = []
    passages: list[str] = []
    for chunk in chunks:
        text = format_passage(len(included) + 1, chunk)
        cost = estimate_tokens(text)
        if used + cost > budget:
            if included:
                break
            head = estimate_tokens(format_passage(1, chunk, body=""))
            text = format_passage(1, chunk, body=_truncate_to(chunk.text.strip(), max(1, budget - used - head)))
            cost = estimate_tokens(text)
        included.append(chunk)
        passages.append(text)
        used += cost
    kept_history: list[dict[str, str]] = []
    for turn in reversed(history):
        cost = estimate_tokens(turn["content"]) + MESSAGE_OVERHEAD_TOKENS
        if used + cost > budget:
            break
        kept_history.insert(0, {"role": turn["role"], "content": turn["content"]})
        used += cost
    user = markup.answer_request(passages, question)
    return [{"role": "system", "content": system}, *kept_history, {"role": "user", "content": user}], included


def build_rewrite_messages(history: Sequence[dict[str, str]], followup: str) -> list[dict[str, str]]:
    lines = "\n".join(f"{t['role']}: {' '.join(t['content'].split())}" for t in history)
    return [
        {"role": "system", "content": REWRITE_RULES},
        {"role": "user", "content": markup.rewrite_request(lines, followup)},
    ]


# -- citations ----------------------------------------------------------------------------------
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")  # [2], and [1, 3] (written as [1][3])
_OPEN_MARKER = re.compile(r"\[[\d,\s]{0,24}$")  # a marker that may still be completing
_REMOVED = "\x00"  # stands where a marker pointing at no passage was, until its neighbours are known
_HELD_TAIL = re.compile(r"[\s\x00]*$")


def _resolve_removed(text: str) -> str:
    text = re.sub(r"[ \t]*\x00+[ \t]*(?=[.,;:!?])", "", text)  # "claim [9]." -> "claim."
    text = re.sub(r"[ \t]*\x00+(?=\s)", "", text)  # "claim [9] more" -> "claim more"
    return text.replace(_REMOVED, "")


class CitationRenumberer:
    """Rewrites the model's `[n]` markers as the answer streams, so `[m]` in the output is
    `citations[m-1]`: cited passages are renumbered 1..k in order of first citation, markers that
    point at no passage are removed (with the space before them), and the text is stripped.

    `feed(delta)` returns the text that is final so far; an incomplete marker (`"[1"`) and trailing
    whitespace are held back until the next delta decides them; `finish()` returns the rest.
    Feeding the whole answer at once gives the same text as feeding it in any pieces."""

    def __init__(self, passages: Sequence[RetrievedChunk]) -> None:
        self._passages = list(passages)
        self._numbers: dict[int, int] = {}
        self.cited: list[tuple[int, RetrievedChunk]] = []
        self._pending = ""
        self._started = False
        self.text = ""

    def _renumber(self, text: str) -> str:
        """Replace the complete markers in `text`; a marker right after the same one is dropped."""
        out: list[str] = []
        position = 0
        for match in _MARKER.finditer(text):
            out.append(text[position:match.start()])
            position = match.end()
            markers: list[str] = []
            for raw in re.split(r"\s*,\s*", match.group(1)):
                original = int(raw)
                if not 1 <= original <= len(self._passages):
                    continue
                if original not in self._numbers:
                    self._numbers[original] = len(self._numbers) + 1
                    self.cited.append((self._numbers[original], self._passages[original - 1]))
                marker = f"[{self._numbers[original]}]"
                if marker not in markers and not (self.text + "".join(out) + "".join(markers)).endswith(marker):
                    markers.append(marker)
            out.append("".join(markers) or _REMOVED)
        out.append(text[position:])
        return "".join(out)

    def _drain(self, final: bool) -> str:
        text = self._pending
        cut = len(text)
        if not final:
            open_marker = _OPEN_MARKER.search(text)
            if open_marker:
                cut = open_marker.start()
        head = self._renumber(text[:cut])
        if final:
            ready, self._pending = head, ""
        else:
            held = _HELD_TAIL.search(head)
            start = held.start() if held else len(head)
            ready, self._pending = head[:start], head[start:] + text[cut:]
        ready = _resolve_removed(ready)
        if final:
            ready = ready.rstrip()
        if not self._started:
            ready = ready.lstrip()
            self._started = bool(ready)
        self.text += ready
        return ready

    def feed(self, delta: str) -> str:
        self._pending += delta
        return self._drain(final=False)

    def finish(self) -> str:
        return self._drain(final=True)


def renumber_citations(answer: str, included: Sequence[RetrievedChunk]) -> tuple[str, list[tuple[int, RetrievedChunk]]]:
    """Keep only the passages the answer cites, renumbered 1..m in order of first citation, so
    `[n]` in the returned text is `citations[n-1]`. Markers that point at no passage are removed."""
    renumberer = CitationRenumberer(included)
    renumberer.feed(answer)
    renumberer.finish()
    return renumberer.text, renumberer.cited


def history_turns(messages: Sequence[Any]) -> list[dict[str, str]]:
    return [{"role": m.role.value, "content": m.content} for m in messages]
