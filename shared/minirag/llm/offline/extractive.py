"""``local/extractive``: a short cited answer composed from the ``<context>`` passages of the
prompt, or a follow-up rewritten into a standalone query (see `ExtractiveAnswerer`)."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from minirag.llm import prompt_markup as markup
from minirag.llm.offline.common import DONT_KNOW, WORD, normalise_word
from minirag.llm.tokens import count_tokens
from minirag.text import ENGLISH_STOPWORDS

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


_CONTEXT_BLOCK = markup.block(markup.CONTEXT)
_QUESTION_BLOCK = markup.block(markup.QUESTION)
_REWRITE_BLOCK = markup.block(markup.REWRITE)
_HISTORY_BLOCK = markup.block(markup.HISTORY)
_FOLLOWUP_BLOCK = markup.block(markup.FOLLOWUP)
_ROLE_LINE = re.compile(r"^\s*(user|human|assistant|ai|bot|system)\s*:\s?(.*)$", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")
_FILLER_WORDS = frozenset(
    "please tell explain describe give know find show say would could may might must us also "
    "whats what's hi hello thanks thank many much get got need want like way long take takes took".split()
)
MAX_ANSWER_SENTENCES = 3
MAX_SENTENCE_WORDS = 60
MIN_COVERAGE = 0.34
RELATIVE_SCORE = 0.6
MAX_REWRITE_TERMS = 6


@dataclass(frozen=True)
class Passage:
    number: int
    title: str
    sentences: list[str]


@dataclass(frozen=True)
class Answer:
    text: str
    cited: list[int]
    finish_reason: str = "stop"


def content_terms(text: str) -> list[str]:
    """Normalised non-stopword terms, in order (duplicates kept)."""
    return [
        normalise_word(w)
        for w in WORD.findall(text.lower())
        if w not in ENGLISH_STOPWORDS and w not in _FILLER_WORDS and (len(w) > 1 or w.isdigit())
    ]


def message_text(message: dict[str, Any]) -> str:
    """Text of a chat message whose content is a string or a list of OpenAI content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def parse_passages(context: str) -> list[Passage]:
    """Split a ``<context>`` body into numbered passages: each runs from ``[n] `` to the next.

    Only markers numbered in sequence count, so a chunk's own reference list ("[12] Smith et
    al.") stays inside its passage.
    """
    markers = []
    for marker in markup.PASSAGE_MARKER.finditer(context):
        if not markers or int(marker.group(1)) == int(markers[-1].group(1)) + 1:
            markers.append(marker)
    passages = []
    for i, marker in enumerate(markers):
        end = markers[i + 1].start() if i + 1 < len(markers) else len(context)
        body = context[marker.end() : end].strip()
        title, body = markup.split_title(body)
        passages.append(Passage(int(marker.group(1)), title, split_sentences(body)))
    return passages


def split_sentences(body: str) -> list[str]:
    """Sentences of a passage: blank lines and bullets break units; wrapped lines are rejoined."""
    units: list[str] = []
    for paragraph in re.split(r"\n\s*\n", body):
        current: list[str] = []
        for line in paragraph.splitlines():
            if _BULLET.match(line) and current:
                units.append(" ".join(current))
                current = []
            if line.strip():
                current.append(_BULLET.sub("", line).strip())
        if current:
            units.append(" ".join(current))
    sentences = []
    for unit in units:
        for sentence in _SENTENCE_END.split(unit):
            words = sentence.split()
            if not words:
                continue
            if len(words) > MAX_SENTENCE_WORDS:
                sentence = " ".join(words[:MAX_SENTENCE_WORDS]) + " ..."
            sentences.append(sentence.strip())
    return sentences


def _cite(sentence: str, number: int) -> str:
    """``text [n].``: the citation goes before the closing punctuation."""
    stripped = sentence.rstrip()
    punctuation = ""
    while stripped and stripped[-1] in ".!?;:,":
        punctuation = punctuation or stripped[-1]
        stripped = stripped[:-1].rstrip()
    if punctuation not in ".!?":
        punctuation = "."
    return f"{stripped} [{number}]{punctuation}"


class ExtractiveAnswerer:
    """Grounded answers without a language model: the best 1-3 sentences, each with its ``[n]``.

    Prompt contract (the LAST user message):

        <context>
        [1] Title: Refund policy
        Refunds are accepted within 30 days of purchase.

        [2] Shipping takes 3-5 business days.
        </context>
        <question>How long do I have to ask for a refund?</question>

    Each passage starts on its own line with ``[n] `` and runs to the next ``[m] `` line; an
    optional first line ``Title: ...`` is used for matching but never quoted. Sentences are
    scored by the IDF-weighted (across passages) overlap of normalised question terms; title
    matches count half. The answer cites each chosen sentence; with no context block, no
    question terms or no sentence covering enough of the question it is exactly `DONT_KNOW`.

    Query rewrite (the last user message holds a ``<rewrite>`` block):

        <rewrite>
        <history>
        user: What is the refund policy for laptops?
        assistant: Laptops can be returned within 30 days [1].
        </history>
        <followup>And for phones?</followup>
        </rewrite>

    returns the follow-up plus up to 6 salient words of the most recent user turn that it does
    not already contain ("And for phones? refund policy laptops"). Role lines are
    ``user:``/``assistant:`` (also human/ai/bot/system); without ``<followup>`` the last user
    line in the block is the follow-up.
    """

    def respond(self, messages: Sequence[dict[str, Any]]) -> Answer:
        prompt = next(
            (message_text(m) for m in reversed(messages) if m.get("role") == "user"), ""
        )
        # The structure `prompt_markup` writes: a rewrite request has a <rewrite> block and no context
        # before it; an answer request's question follows its context. (Passages and questions cannot
        # carry these tags, `markup.neutral` disarms them; this is the second line.)
        context = _CONTEXT_BLOCK.search(prompt)
        rewrite = _REWRITE_BLOCK.search(prompt, 0, context.start() if context else len(prompt))
        if rewrite:
            return Answer(markup.restore(self.rewrite(rewrite.group(1))), [])
        if not context:
            return Answer(DONT_KNOW, [])
        question_block = _QUESTION_BLOCK.search(prompt, context.end())
        question = (
            question_block.group(1)
            if question_block
            else _CONTEXT_BLOCK.sub(" ", prompt)
        )
        return self.answer(question, parse_passages(context.group(1)))

    def answer(self, question: str, passages: Sequence[Passage]) -> Answer:
        query = list(dict.fromkeys(content_terms(question)))
        if not query or not passages:
            return Answer(DONT_KNOW, [])
        passage_terms = [
            set(content_terms(p.title + " " + " ".join(p.sentences))) for p in passages
        ]
        n = len(passages)
        idf: dict[str, float] = {}
        absent = []
        for term in query:
            df = sum(term in terms for terms in passage_terms)
            if df:
                idf[term] = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            else:
                absent.append(term)
        if not idf:
            return Answer(DONT_KNOW, [])
        # A question word no passage contains lowers coverage as much as an average present
        # term: enough to refuse a half-matching question, not enough to drown a good match.
        total = sum(idf.values()) * (1 + len(absent) / len(idf))

        scored: list[tuple[float, float, int, int, str]] = []
        for order, passage in enumerate(passages):
            title_terms = set(content_terms(passage.title))
            for position, sentence in enumerate(passage.sentences):
                terms = set(content_terms(sentence))
                matched = sum(idf.get(t, 0.0) for t in query if t in terms)
                if matched == 0:
                    continue
                from_title = sum(idf.get(t, 0.0) for t in query if t in title_terms and t not in terms)
                score = matched + 0.5 * from_title
                length_penalty = 0.001 * len(sentence.split())
                scored.append((score - length_penalty, score / total, order, position, sentence))
        if not scored:
            return Answer(DONT_KNOW, [])
        scored.sort(key=lambda s: (-s[0], s[2], s[3]))
        best_score, best_coverage = scored[0][0], scored[0][1]
        if best_coverage < MIN_COVERAGE:
            return Answer(DONT_KNOW, [])

        chosen: list[tuple[int, int, str]] = []
        seen: set[str] = set()
        for score, _, order, position, sentence in scored:
            if len(chosen) == MAX_ANSWER_SENTENCES:
                break
            if score < RELATIVE_SCORE * best_score:  # follow-up sentences only need to be close
                break
            key = " ".join(content_terms(sentence))
            if key in seen:
                continue
            seen.add(key)
            chosen.append((order, position, sentence))
        text = markup.restore(" ".join(_cite(sentence, passages[order].number) for order, _, sentence in chosen))
        cited = list(dict.fromkeys(passages[order].number for order, _, _ in chosen))
        return Answer(text, cited)

    def rewrite(self, block: str) -> str:
        history_match = _HISTORY_BLOCK.search(block)
        followup_match = _FOLLOWUP_BLOCK.search(block)
        history_text = history_match.group(1) if history_match else block
        if followup_match and not history_match:
            history_text = _FOLLOWUP_BLOCK.sub(" ", history_text)
        turns = _parse_turns(history_text)
        user_turns = [text for role, text in turns if role == "user" and text.strip()]
        if followup_match:
            followup = followup_match.group(1).strip()
        elif user_turns:
            followup = user_turns.pop()
        else:
            followup = block.strip()
        if not user_turns:
            return followup
        present = set(content_terms(followup))
        salient: list[str] = []
        for word in WORD.findall(user_turns[-1]):
            normal = content_terms(word)
            if not normal or normal[0] in present:
                continue
            present.add(normal[0])
            salient.append(word)
            if len(salient) == MAX_REWRITE_TERMS:
                break
        return " ".join([followup, *salient]).strip()


def _parse_turns(text: str) -> list[tuple[str, str]]:
    turns: list[tuple[str, str]] = []
    for line in text.splitlines():
        match = _ROLE_LINE.match(line)
        if match:
            role = match.group(1).lower()
            turns.append(("user" if role in ("user", "human") else role, match.group(2)))
        elif turns and line.strip():
            role, previous = turns[-1]
            turns[-1] = (role, f"{previous} {line.strip()}")
    return turns


def truncate_answer(answer: Answer, max_tokens: int | None) -> Answer:
    """Respect ``max_tokens`` like a real model: cut at a word boundary, finish_reason length."""
    if not max_tokens or count_tokens(answer.text) <= max_tokens:
        return answer
    words: list[str] = []
    for word in answer.text.split(" "):
        if count_tokens(" ".join([*words, word])) > max_tokens:
            break
        words.append(word)
    return Answer(" ".join(words), answer.cited, finish_reason="length")


def stream_pieces(text: str) -> list[str]:
    """Word-sized deltas that concatenate back to ``text`` exactly."""
    return re.findall(r"\S+\s*|\s+", text)


# --------------------------------------------------------------------------------------------
# LiteLLM provider
# --------------------------------------------------------------------------------------------
