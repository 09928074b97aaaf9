"""How MiniRAG counts tokens where no tokenizer answers, one rule per purpose, written once.

- `count_tokens`: words and punctuation marks, the usage the offline models report and the fallback
  the gateway reports for a real model whose tokenizer LiteLLM does not know.
- `estimate_tokens`: a cheap over-estimate (words and punctuation × 1.3, CJK per character) that the
  prompt builder uses to stay inside a model's context window whatever its tokenizer.
- The chunker counts all-MiniLM-L6-v2 WordPiece tokens with its own fitted estimate
  (`documents/chunking.estimate_wordpiece_tokens`), because chunk sizes are bounded by the embedding model's window.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_WORDISH = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]|\w{1,10}|[^\w\s]")


def count_tokens(text: str) -> int:
    """Words and punctuation marks."""
    return len(_TOKEN.findall(text))


def estimate_tokens(text: str) -> int:
    """A cheap over-estimate (words and punctuation × 1.3), good enough to stay inside a budget."""
    return int(len(_WORDISH.findall(text)) * 1.3) + 1
