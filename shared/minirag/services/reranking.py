"""Reranking (issue 12): a bot with a `rerank_model` (any LiteLLM rerank model: Cohere, Jina,
Voyage, Bedrock, ...) has its fused candidates reordered by that model before they are returned
(/v1/retrieve) or put in the prompt (chat).

- Retrieval first fetches more candidates than it will keep (`candidate_count`: four times what is
  kept, at least 20, at most 100 — one Cohere search unit covers up to 100 documents), with the
  bot's `min_score` applied to their calibrated relevance as without reranking.
- The reranker orders them; the best `rerank_top_n` (default: the top_k asked for) are kept, ranked
  1..n, and each one's `score` (and `rerank_score`) is the reranker's relevance_score.
- The call goes through the model gateway: the same provider policy, operator endpoint, bot key
  (or platform key, for models in PLATFORM_MODELS) and retries as a completion. Its usage (search
  units, tokens when the provider reports them) and LiteLLM's cost are recorded as a usage event
  of kind `rerank`, by the caller, in its own transaction.
- Any reranker failure (provider down, 5xx, timeout, refused by the policy since the bot was
  saved, a malformed answer) never fails the request: the fused order is kept and a warning says so.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from minirag.db.models import UsageEvent, UsageKind
from minirag.errors import AppError
from minirag.llm.ports import ModelGateway
from minirag.observability import logger, metrics
from minirag.services.provider_keys import chat_api_key
from minirag.services.retrieval import RetrievalBot, RetrievalMode, RetrievalService, RetrievedChunk
from minirag.vectorstore.filters import FilterNode

MIN_CANDIDATES = 20
MAX_CANDIDATES = 100


class RerankingBot(RetrievalBot, Protocol):
    @property
    def rerank_model(self) -> str | None: ...
    @property
    def rerank_top_n(self) -> int | None: ...


@dataclass(frozen=True)
class RerankUsage:
    model: str
    search_units: int | None
    total_tokens: int
    cost: float | None

    def event(self, bot_id: uuid.UUID, *, chat_id: uuid.UUID | None = None,
              message_id: uuid.UUID | None = None) -> UsageEvent:
        """The usage row of this call (not added: the caller writes it in its transaction)."""
        return UsageEvent(id=uuid.uuid4(), kind=UsageKind.rerank, model=self.model, bot_profile_id=bot_id,
                          chat_id=chat_id, message_id=message_id, prompt_tokens=self.total_tokens,
                          completion_tokens=0, total_tokens=self.total_tokens, cost=self.cost)


@dataclass
class RetrievalOutcome:
    """The passages, best first, plus what the client should know (`warnings`) and what the
    reranker cost (`rerank_usage`, None when no reranker ran or it failed)."""

    chunks: list[RetrievedChunk]
    warnings: list[str] = field(default_factory=list)
    rerank_usage: RerankUsage | None = None


def candidate_count(keep: int) -> int:
    return max(keep, min(MAX_CANDIDATES, max(MIN_CANDIDATES, keep * 4)))


class Reranker:
    def __init__(self, gateway: ModelGateway, *, timeout: float) -> None:
        self._gateway = gateway
        self._timeout = timeout

    def rerank(self, bot: RerankingBot, query: str, candidates: list[RetrievedChunk], *,
               keep: int) -> RetrievalOutcome:
        """`candidates` in the reranker's order, at most `keep`; on failure, the first `keep` as
        they are, with a warning."""
        model = bot.rerank_model
        if model is None or not candidates:
            return RetrievalOutcome(candidates[:keep])
        try:
            result = self._gateway.rerank(query, [chunk.text for chunk in candidates], model=model,
                                          top_n=keep, api_key=chat_api_key(bot), timeout=self._timeout)
        except Exception as exc:  # a reranker outage must never fail the chat
            reason = exc.message if isinstance(exc, AppError) else "the reranker's answer could not be used"
            if not isinstance(exc, AppError):
                logger.exception("rerank failed", extra={"rerank_model": model})
            logger.warning("rerank failed; fused order kept", extra={"rerank_model": model, "reason": reason})
            metrics.add_metric(name="RerankFailures", unit="Count", value=1)
            return RetrievalOutcome(candidates[:keep], [f"reranking with '{model}' failed, so the results are in "
                                                        f"retrieval's own order: {reason}"])
        ranked = [replace(candidates[hit.index], score=hit.relevance_score, rerank_score=hit.relevance_score,
                          rank=rank) for rank, hit in enumerate(result.hits[:keep], start=1)]
        return RetrievalOutcome(ranked, [], RerankUsage(result.model or model, result.search_units,
                                                        result.total_tokens, result.cost))


def retrieve_reranked(retrieval: RetrievalService, reranker: Reranker, bot: RerankingBot, query: str, *,
                      top_k: int, mode: RetrievalMode = "hybrid", min_score: float | None = None,
                      user_filter: FilterNode | None = None,
                      group_by: Literal["document"] | None = None) -> RetrievalOutcome:
    """Retrieval for a bot, reranked when it has a `rerank_model`: what /v1/retrieve and chat use.
    Filters and grouping narrow the candidates before the reranker sees them."""
    if bot.rerank_model is None:
        return RetrievalOutcome(retrieval.retrieve(bot, query, top_k=top_k, mode=mode, min_score=min_score,
                                                   user_filter=user_filter, group_by=group_by))
    keep = bot.rerank_top_n or top_k
    candidates = retrieval.retrieve(bot, query, top_k=candidate_count(keep), mode=mode, min_score=min_score,
                                    user_filter=user_filter, group_by=group_by)
    return reranker.rerank(bot, query, candidates, keep=keep)
