"""One typed settings object, read from the environment (and `.env`).

Built lazily through `get_settings()` (cached) so that importing a handler costs nothing and tests can
reset it with `get_settings.cache_clear()`. Env names match field names (`DATABASE_URL` →
`database_url`). Secrets are `SecretStr` so they never print in a log or a repr.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from minirag.llm.model_policy import DEFAULT_MODEL_PROVIDERS, check_model_settings, endpoint_url

LOCAL_ENVIRONMENTS = ("local", "test")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["local", "test", "dev", "prod"] = "local"
    service_name: str = "minirag"
    data_dir: Path = Path(".minirag")
    log_level: str = "INFO"
    tracing_enabled: bool = False

    # Data layer. Unset: SQLite file under data_dir (the embedded default).
    database_url: str | None = None
    db_pool_size: int = Field(default=2, ge=1, le=50)

    # Vector store. "qdrant-edge" (the embedded default) runs Qdrant's engine in-process: one shard per
    # collection under data_dir/qdrant-edge (a throw-away temp dir when QDRANT_PATH is ":memory:").
    # "qdrant" is qdrant-client: a Qdrant server by QDRANT_URL (deployed), else its local mode under
    # data_dir/qdrant. Left unset, QDRANT_URL alone selects "qdrant".
    vector_backend: Literal["qdrant", "qdrant-edge"] = "qdrant-edge"
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    qdrant_path: str | None = None
    qdrant_collection_prefix: str = "minirag"
    # qdrant-edge builds its HNSW index in a background child process once a shard holds this many
    # points (and again after 25% growth); below it, exhaustive search is faster. 0: never.
    edge_optimize_min_points: int = Field(default=5_000, ge=0)
    # Metadata keys to index for filters, "key:type" comma-separated (keyword|integer|float|datetime|bool),
    # e.g. "metadata.lang:keyword,metadata.year:integer": new collections get these payload indexes.
    filter_indexed_keys: str = ""

    # Security.
    jwt_secret: SecretStr | None = None
    jwt_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    fernet_keys: SecretStr | None = Field(
        default=None, description="Comma-separated Fernet keys; the first encrypts, all decrypt (rotation)."
    )

    # Models (LiteLLM model strings). Offline providers are `local/...`.
    default_chat_model: str = "local/extractive"
    embedding_model: str = "local/minilm"
    embedding_api_key: SecretStr | None = None
    llm_timeout_seconds: float = Field(default=60, gt=0)
    llm_max_retries: int = Field(default=3, ge=0, le=10)
    # A bot's reranker (rerank_model) gets this long per call; past it the fused order is used.
    rerank_timeout_seconds: float = Field(default=10, gt=0, le=120)

    # Queue: "embedded" is the durable queue table in the app database that the local runner drains
    # ("memory", its old name, means the same); "sqs" uses boto3 (AWS_ENDPOINT_URL).
    queue_backend: Literal["embedded", "sqs"] = "embedded"
    ingest_queue_url: str | None = None
    ingest_queue_name: str = "minirag-ingest"
    ingest_dlq_name: str = "minirag-ingest-dlq"
    ingest_max_receive_count: int = Field(default=3, ge=1, le=1000)
    ingest_batch_documents: int = Field(default=64, ge=1, le=10000)
    # The reconciler: a source queued/processing this long without progress and with no live message
    # is re-enqueued once, then failed with a reason.
    ingest_stuck_after_seconds: int = Field(default=3600, ge=0)

    # Upload storage: "local" stores under data_dir/uploads; "s3" uses boto3 (AWS_ENDPOINT_URL).
    storage_backend: Literal["local", "s3"] = "local"
    upload_bucket: str = "minirag-uploads"
    upload_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    upload_url_ttl_seconds: int = Field(default=900, ge=60, le=604800)
    public_base_url: str = "http://127.0.0.1:8000"

    # Request and source limits.
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    max_text_source_chars: int = Field(default=500_000, ge=1)
    url_fetch_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    url_fetch_timeout_seconds: float = Field(default=10, gt=0)
    url_fetch_allow_private: bool = Field(
        default=False, description="Only for tests serving from 127.0.0.1; never in production."
    )

    # Per-tenant limits (defaults; `minirag set-limits` overrides them per tenant). Counted in the
    # database (fixed windows; a day is a UTC day), so they hold across Lambda containers.
    limit_requests_per_minute: int = Field(default=300, ge=0)
    limit_chat_turns_per_day: int = Field(default=2000, ge=0)
    limit_model_tokens_per_day: int = Field(default=2_000_000, ge=0)
    limit_ingest_documents_per_day: int = Field(default=10_000, ge=0)
    limit_ingest_chunks_per_day: int = Field(default=200_000, ge=0)
    limit_stored_chunks: int = Field(default=500_000, ge=0)
    limit_sources: int = Field(default=1000, ge=0)
    limit_bots: int = Field(default=50, ge=0)
    limit_tokens: int = Field(default=100, ge=0)

    # Sign-up and login. SIGNUP: open (anyone may POST /v1/tenants), invite (with a code from
    # `minirag invite`) or closed (only `minirag create-tenant`).
    signup: Literal["open", "invite", "closed"] = "open"
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_backoff_seconds: int = Field(default=30, ge=1, le=3600)

    # Per-source ingest caps: what one upload may cost the shared worker (refused while planning).
    ingest_max_source_chars: int = Field(default=2_000_000, ge=1)
    ingest_max_source_chunks: int = Field(default=5_000, ge=1)
    ingest_max_expansion_ratio: float = Field(default=100, ge=1)

    # Webhooks: events go on their own queue (embedded "webhooks", or SQS WEBHOOK_QUEUE_URL) to the
    # webhook function, which POSTs each with this timeout; a failure is retried after
    # WEBHOOK_RETRY_DELAY_SECONDS x 2^(attempt-1) and dead-lettered after WEBHOOK_MAX_RECEIVE_COUNT attempts.
    webhook_queue_url: str | None = None
    webhook_queue_name: str = "minirag-webhooks"
    webhook_dlq_name: str = "minirag-webhooks-dlq"
    webhook_max_receive_count: int = Field(default=5, ge=1, le=1000)
    webhook_timeout_seconds: float = Field(default=5, gt=0, le=30)
    webhook_retry_delay_seconds: int = Field(default=30, ge=0, le=3600)
    # Chat export (GET /v1/chat/export): the largest body a buffered (Lambda through API Gateway)
    # response may carry; Lambda's limit is 6 MB, less headroom for the headers and JSON escaping.
    export_max_bytes: int = Field(default=5_000_000, ge=1024)

    # Model policy (minirag.llm.model_policy): which model strings run, on whose keys, where.
    model_providers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_MODEL_PROVIDERS),
        description="Comma-separated LiteLLM providers a bot may use with its own key.")
    model_endpoints: dict[str, str] = Field(
        default_factory=dict, description='JSON {"provider": "http(s)://api_base"}: the only endpoint of each.')
    platform_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated fnmatch patterns of models the platform's keys serve.")

    @field_validator("model_providers", "platform_models", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("model_providers")
    @classmethod
    def _lower_providers(cls, value: list[str]) -> list[str]:
        return [item.lower() for item in value]

    @field_validator("model_endpoints")
    @classmethod
    def _vetted_endpoints(cls, value: dict[str, str]) -> dict[str, str]:
        return {provider.strip().lower(): endpoint_url(url) for provider, url in value.items()}

    @model_validator(mode="after")
    def _tenant_providers_are_safe(self) -> "Settings":
        check_model_settings(self.model_providers, self.model_endpoints)
        return self

    @field_validator("queue_backend", mode="before")
    @classmethod
    def _old_queue_name(cls, value: object) -> object:
        return "embedded" if value == "memory" else value

    @field_validator("database_url")
    @classmethod
    def _normalise_driver(cls, value: str | None) -> str | None:
        """Accept the usual postgres URL spellings and route them to psycopg 3."""
        if not value:
            return None
        for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix):]
        return value

    @model_validator(mode="after")
    def _server_when_url(self) -> "Settings":
        """QDRANT_URL without VECTOR_BACKEND means the server; filter index declarations are checked."""
        if self.qdrant_url and "vector_backend" not in self.model_fields_set:
            self.vector_backend = "qdrant"
        from minirag.vectorstore.filters import declared_index_types

        declared_index_types(self.filter_indexed_keys)
        return self

    @model_validator(mode="after")
    def _require_secrets_outside_local(self) -> "Settings":
        if self.environment not in LOCAL_ENVIRONMENTS:
            missing = [n for n in ("jwt_secret", "fernet_keys") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"{', '.join(m.upper() for m in missing)} must be set in {self.environment}")
        if self.vector_backend == "qdrant-edge" and self.qdrant_url:
            raise ValueError("VECTOR_BACKEND=qdrant-edge is embedded: unset QDRANT_URL (or use VECTOR_BACKEND=qdrant)")
        if self.environment == "prod" and self.url_fetch_allow_private:
            raise ValueError("URL_FETCH_ALLOW_PRIVATE must not be set in prod")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'minirag.db').resolve()}"

    @property
    def resolved_qdrant_path(self) -> str:
        return self.qdrant_path or str((self.data_dir / "qdrant").resolve())

    @property
    def resolved_qdrant_edge_path(self) -> str:
        """Root of the qdrant-edge shards (one folder per collection); ":memory:" means a temp dir."""
        if self.qdrant_path == ":memory:":
            return ":memory:"
        return str((self.data_dir / "qdrant-edge").resolve())

    def require_jwt_secret(self) -> str:
        if self.jwt_secret is None:
            raise RuntimeError("JWT_SECRET is not set (run `minirag dev` once to generate local secrets)")
        return self.jwt_secret.get_secret_value()

    # -- sources (issue 11): direct uploads, batches, scheduled refresh ------------------------------
    # A direct (multipart) upload travels base64 inside the Lambda event, and a synchronous Lambda
    # invocation carries at most 6 MB (6,291,456 bytes): 4/3 of the file plus headers and multipart
    # framing must fit, so ~4.7 MB is the ceiling; 4.5 MB leaves margin. Larger files: presigned PUT.
    upload_direct_max_bytes: int = Field(default=4_500_000, ge=1024, le=4_700_000)
    source_batch_max_children: int = Field(default=100, ge=1, le=1000)
    refresh_max_per_run: int = Field(default=50, ge=1, le=1000)

    def max_body_bytes_for(self, path: str) -> int:
        """The direct upload route takes a file (plus multipart framing); every other route MAX_REQUEST_BYTES."""
        if path.rstrip("/") == "/v1/sources/upload":
            return max(self.max_request_bytes, self.upload_direct_max_bytes + 65_536)
        return self.max_request_bytes

    def require_fernet_keys(self) -> list[str]:
        if self.fernet_keys is None:
            raise RuntimeError("FERNET_KEYS is not set (run `minirag dev` once to generate local secrets)")
        return [k.strip() for k in self.fernet_keys.get_secret_value().split(",") if k.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    from minirag.app_secrets import apply_app_secrets

    apply_app_secrets()  # deployed: JWT/Fernet/DB/provider secrets from Secrets Manager (APP_SECRETS_ARN)
    return Settings()
