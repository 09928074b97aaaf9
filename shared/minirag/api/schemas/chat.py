from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from minirag.api.schemas.common import PublicModel, StrictModel, field_errors
from minirag.api.schemas.filters import RetrievalFilter

MAX_MESSAGE_CHARS = 8000


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must contain text, not only whitespace")
    return value


Text = Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE_CHARS), AfterValidator(_not_blank)]


def _iso_8601(value: object) -> object:
    """Pydantic would also read a bare number as Unix seconds; the API takes ISO 8601 only."""
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1)
                                           .isdigit()):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z")
    return value


IsoInstant = Annotated[datetime, BeforeValidator(_iso_8601)]


class ChatRequest(StrictModel):
    bot_profile_id: uuid.UUID
    message: Text
    chat_id: uuid.UUID | None = Field(default=None, description="Continue this chat; omit to start a new one")
    stream: bool = Field(default=False, description="Answer as Server-Sent Events (text/event-stream)")
    top_k: Annotated[int | None, Field(ge=1, le=50)] = None
    filter: RetrievalFilter | None = None
    group_by: Literal["document"] | None = Field(default=None, description="`document`: cite each document once "
                                                                          "(its best chunk)")


class Citation(PublicModel):
    index: int = Field(description="The n of the [n] marker in the answer")
    source_id: uuid.UUID
    document_id: uuid.UUID
    chunk_id: uuid.UUID
    title: str | None = Field(description="The document's own title, else the source's name, else the file name")
    filename: str | None = Field(default=None, description="The uploaded file's (or zip member's) name")
    external_id: str | None
    metadata: dict[str, Any] = Field(default_factory=dict, description="The document's metadata (JSON Lines)")
    heading: str | None = None
    page: int | None = None
    snippet: str
    score: float


class UsagePublic(PublicModel):
    model: str | None = Field(default=None, description="the model that answered")
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float | None = None


class AnswerMessagePublic(PublicModel):
    id: uuid.UUID
    role: Literal["assistant"]
    content: str


class ChatResponse(PublicModel):
    chat_id: uuid.UUID
    message_id: uuid.UUID
    user_message_id: uuid.UUID
    answer: str
    message: AnswerMessagePublic = Field(description="The answer as the seed system shows it (id = message_id)")
    citations: list[Citation]
    sources: list[Citation] = Field(description="The same as `citations` (the seed system's name)")
    retrieval_query: str
    usage: UsagePublic
    warnings: list[str] = Field(default_factory=list, description="What went wrong without failing the answer, "
                                                                  "e.g. the bot's reranker failed and retrieval's "
                                                                  "own order was used")


class ChatPublic(PublicModel):
    id: uuid.UUID
    bot_profile_id: uuid.UUID
    title: str | None
    message_count: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float | None
    created_at: datetime
    updated_at: datetime


class MessagePublic(PublicModel):
    id: uuid.UUID
    chat_id: uuid.UUID
    role: Literal["user", "assistant"]
    content: str
    citations: list[Citation]
    retrieval_query: str | None = Field(default=None, description="User messages: the query retrieval used")
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    error: str | None
    feedback: Literal["positive", "negative"] | None = Field(
        default=None, description="Assistant messages: the user's rating (PATCH .../feedback)")
    feedback_comment: str | None = None
    created_at: datetime


MAX_FEEDBACK_COMMENT_CHARS = 2000


class FeedbackUpdate(StrictModel):
    """The whole feedback on an answer: each PATCH replaces it, and `feedback: null` clears it
    (with its comment)."""

    feedback: Literal["positive", "negative"] | None
    comment: Annotated[str | None, Field(max_length=MAX_FEEDBACK_COMMENT_CHARS)] = None

    @model_validator(mode="after")
    def _comment_needs_a_rating(self) -> FeedbackUpdate:
        if self.feedback is None and self.comment is not None:
            raise field_errors("FeedbackUpdate", {"comment": "a comment needs a feedback; null clears both"})
        return self


class RetrieveRequest(StrictModel):
    bot_profile_id: uuid.UUID
    query: Text
    top_k: Annotated[int, Field(ge=1, le=100)] = 5
    mode: Literal["hybrid", "dense", "sparse"] = "hybrid"
    min_score: Annotated[float | None, Field(ge=0, le=1, description="Defaults to the bot's min_score; "
                                            "acts on `score`")] = None
    filter: RetrievalFilter | None = None
    group_by: Literal["document"] | None = Field(default=None, description="`document`: the best chunk per "
                                                                          "document only")


class RetrieverRanks(PublicModel):
    dense: int | None = Field(default=None, description="Rank in the dense (embedding) list; null if absent")
    sparse: int | None = Field(default=None, description="Rank in the sparse (BM25) list; null if absent")


class RetrievedChunkPublic(PublicModel):
    rank: int
    chunk_id: uuid.UUID
    source_id: uuid.UUID
    document_id: uuid.UUID
    title: str | None
    filename: str | None = None
    external_id: str | None
    metadata: dict[str, Any] = Field(default_factory=dict, description="The document's metadata (JSON Lines)")
    heading: str | None
    page: int | None
    text: str
    file_type: str | None = None
    score: float = Field(description="Relevance in [0, 1]: the cosine of query and chunk embeddings (clipped), or "
                                     "the reranker's score when the bot reranks; `min_score` acts on it")
    relevance: float | None = Field(description="The raw cosine of query and chunk embeddings")
    ranks: RetrieverRanks = Field(default_factory=RetrieverRanks,
                                  description="The chunk's rank in each retriever's list (debugging)")
    fused_score: float | None = Field(default=None, description="The reciprocal-rank-fusion score (hybrid); orders "
                                                                "the results with `rank`")
    rerank_score: float | None = Field(default=None, description="The reranker's relevance_score (bots with "
                                                                 "rerank_model); null when not reranked")


class RetrieveResponse(PublicModel):
    data: list[RetrievedChunkPublic]
    warnings: list[str] = Field(default_factory=list, description="e.g. the bot's reranker failed and "
                                                                  "retrieval's own order was used")
