"""Hybrid retrieval for one bot: dense (the bot's embedding model) + sparse BM25 prefetches fused
with reciprocal-rank fusion in Qdrant, always filtered by tenant (TenantVectorStore) and bot.

Only chunks of the *visible* version of an *active* source are returned: hits are checked against
the sources' `ready_version` in the database, which is what makes a re-ingest switch atomically
and keeps failed, half-written or deactivated data out of answers.

One score scale: every result's `score` is its relevance — the cosine of the query's and the chunk's
embeddings, clipped to [0, 1] — whatever the mode, and `min_score` (the request's, else the bot's)
acts on it, because fused RRF scores only say how a chunk ranks, not whether it is relevant at all.
Results are ordered by the mode's ranking (RRF for hybrid); `rank` is the position there and `ranks`
the position in each retriever's own list ("dense", "sparse"), for debugging. (A reranker, when the
bot has one, replaces `score` by its own.)

Metadata filters (vectorstore/filters.py): the bot's `default_filter` AND the request's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Protocol

from minirag.db import source_rows
from minirag.db.models import BotProfile
from minirag.db.scope import TenantScope
from minirag.llm.ports import ModelGateway
from minirag.services.provider_keys import embedding_api_key
from minirag.settings import Settings
from minirag.vectorstore.filters import FilterNode, combine, parse_filter
from minirag.vectorstore.indexes import VectorIndexes
from minirag.vectorstore.store import SPARSE

RetrievalMode = Literal["hybrid", "dense", "sparse"]
RRF_K = 10  # tuned on SciFact train (bench/retrieval_eval.py --rrf-k): 0.729 vs 0.722 at 60
PREFETCH_LIMIT = 100


@dataclass
class RetrievedChunk:
    chunk_id: str
    source_id: str
    document_id: str
    text: str
    title: str | None
    external_id: str | None
    heading: str | None
    page: int | None
    score: float  # the relevance in [0, 1] (see the module's docstring)
    relevance: float | None  # the raw cosine
    rank: int
    filename: str | None = None  # the uploaded file's (or zip member's) name
    metadata: dict[str, Any] = field(default_factory=dict)  # the document's own (a JSON Lines line's `metadata`)
    ranks: dict[str, int] = field(default_factory=dict)  # 1-based rank in each retriever's list
    fused_score: float | None = None  # the RRF score (hybrid)
    file_type: str | None = None
    rerank_score: float | None = None  # the reranker's relevance (services/reranking.py); then also `score`


class RetrievalBot(Protocol):
    """What retrieval reads of a bot: a `BotProfile` row (loaded in a `read()` that has ended) or a
    `BotSnapshot`."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def embedding_model(self) -> str: ...
    @property
    def provider_key_encrypted(self) -> str | None: ...
    @property
    def min_score(self) -> float: ...
    @property
    def default_filter(self) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class BotSnapshot:
    """The bot settings one request needs, as plain values copied out of the ORM row: a chat turn
    carries them across model calls, outside any transaction, and a plain value can never lazy-load
    (which would open a transaction, on SQLite a write lock, held across those calls)."""

    id: uuid.UUID
    model: str
    temperature: float
    max_tokens: int
    provider_key_encrypted: str | None
    embedding_model: str
    system_prompt: str
    top_k: int
    min_score: float
    no_answer_text: str
    history_turns: int
    default_filter: dict[str, Any] | None
    rerank_model: str | None = None  # reranking (services/reranking.py)
    rerank_top_n: int | None = None

    @classmethod
    def of(cls, bot: BotProfile) -> "BotSnapshot":
        return cls(**{f.name: getattr(bot, f.name) for f in fields(cls)})


def _cosine(a: list[float], b: list[float]) -> float:
    import numpy as np

    va, vb = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    norm = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb) / norm if norm else 0.0


class RetrievalService:
    def __init__(self, scope: TenantScope, settings: Settings, *, gateway: ModelGateway,
                 indexes: VectorIndexes) -> None:
        self._scope = scope
        self._settings = settings
        self._gateway = gateway
        self._indexes = indexes

    def retrieve(self, bot: RetrievalBot, query: str, *, top_k: int, mode: RetrievalMode = "hybrid",
                 min_score: float | None = None, user_filter: FilterNode | None = None,
                 group_by: Literal["document"] | None = None) -> list[RetrievedChunk]:
        """The bot's best `top_k` visible chunks for `query` (one per document with `group_by`).
        Reads the database once (the visible versions) in a `read()` of its own (or the caller's,
        when one is open), after the query is embedded and searched."""
        from minirag.vectorstore.sparse import encode_query

        conditions = combine(parse_filter(bot.default_filter, field="default_filter"), user_filter)
        query_vector = self._gateway.embed([query], model=bot.embedding_model,
                                           api_key=embedding_api_key(bot))[0]
        sparse = encode_query(query)
        store = self._indexes.for_model(self._scope.tenant_id, bot.embedding_model, len(query_vector))
        # Ask for a few more than top_k: some hits may belong to superseded versions.
        hits = store.search(
            bot_profile_id=bot.id,
            dense=query_vector if mode in ("hybrid", "dense") else None,
            sparse=(sparse.indices, sparse.values) if mode in ("hybrid", "sparse") else None,
            limit=top_k + 10, prefetch_limit=max(PREFETCH_LIMIT, top_k * 4), rrf_k=RRF_K,
            user_filter=conditions, group_by_document=group_by == "document",
        )
        with self._scope.read():
            visible = self._visible_versions({h.payload.get("source_id") for h in hits})
        threshold = bot.min_score if min_score is None else min_score
        results: list[RetrievedChunk] = []
        for hit in hits:
            payload = hit.payload
            if visible.get(str(payload.get("source_id"))) != payload.get("version"):
                continue
            relevance = hit.scores.get("dense")
            if relevance is None and hit.vector is not None:
                relevance = _cosine(query_vector, hit.vector)
            score = round(min(1.0, max(0.0, relevance)), 6) if relevance is not None else 0.0
            if score < threshold:
                continue
            results.append(RetrievedChunk(
                chunk_id=str(payload.get("chunk_id") or hit.id), source_id=str(payload["source_id"]),
                document_id=str(payload.get("document_id")), text=str(payload.get("text", "")),
                title=payload.get("title"), external_id=payload.get("external_id"),
                heading=payload.get("heading"), page=payload.get("page"), score=score,
                relevance=relevance, rank=len(results) + 1, filename=payload.get("filename"),
                metadata=payload.get("metadata") or {},
                ranks={("sparse" if k == SPARSE else k): v for k, v in hit.ranks.items()},
                fused_score=hit.score if len(hit.ranks) > 1 or mode == "hybrid" else None,
                file_type=payload.get("file_type"),
            ))
            if len(results) == top_k:
                break
        return results

    def _visible_versions(self, source_ids: set[Any]) -> dict[str, int]:
        ids = []
        for value in source_ids:
            try:
                ids.append(uuid.UUID(str(value)))
            except ValueError:
                continue
        return source_rows.visible_versions(self._scope, ids)
