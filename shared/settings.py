"""Settings read from the environment (see `.env.example`)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def to_asyncpg_url(url: str) -> str:
    """Normalise a PostgreSQL URL to the SQLAlchemy asyncpg dialect."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Every setting of the API and the worker, from the environment or `.env`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/petition_desk",
        description="PostgreSQL URL; `postgresql://` is accepted and used through asyncpg. "
        "Several servers: `postgresql://u@/db?host=a:5432&host=b:5432"
        "&target_session_attrs=read-write` (each new connection finds the primary).",
    )
    database_pool_size: int = Field(
        default=10,
        ge=1,
        description="PostgreSQL connections one API process keeps; it may open as many again "
        "under load, so size max_connections for API processes × 2 × this.",
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Redis, one endpoint that is always the master; with REDIS_SENTINELS only "
        "its database number and password are used.",
    )
    redis_sentinels: str = Field(
        default="",
        description="Sentinels to ask for the master, host:port,host:port (empty: REDIS_URL "
        "is the master).",
    )
    redis_sentinel_master: str = Field(
        default="petition-desk", description="The master's name the Sentinels monitor."
    )
    api_url: str = Field(
        default="http://127.0.0.1:8000", description="Where the worker reaches the API."
    )
    public_base_url: str = Field(
        default="",
        description="Where officials' phones reach the API, e.g. https://xf.example.gov.cn: the "
        "base of the one-click acknowledgement links in every SMS. Required: the API does not "
        "start without it (the links are made in requests the worker drives, so they cannot "
        "follow a request's Host); `make run` sets it from PORT.",
    )
    inbound_sms_token: str = Field(
        default="",
        description="Shared secret in the URL of the inbound-SMS webhooks; empty disables them.",
    )
    worker_token: str = Field(
        default="",
        description="Shared secret the worker presents to the API's internal endpoints.",
    )
    jwt_secret: str = Field(default="", description="HS256 key for access tokens.")
    pii_keys: str = Field(
        default="",
        description="Fernet keys sealing petitioners' ID and phone numbers, comma-separated, "
        "newest first (the first encrypts, any decrypts); the API does not start without one.",
    )
    pii_hash_key: str = Field(
        default="",
        description="HMAC-SHA256 key of the exact-match lookups of ID and phone numbers "
        "(at least 32 characters); the API does not start without it.",
    )
    access_token_minutes: int = 12 * 60
    refresh_token_days: int = Field(default=30, ge=1, description="How long a login lasts.")
    login_max_failures: int = Field(
        default=5, ge=1, description="Wrong passwords for one user name before it is locked."
    )
    login_max_failures_per_ip: int = Field(
        default=50, ge=1, description="Failed logins from one address before it is locked."
    )
    login_lockout_seconds: int = Field(
        default=900, ge=1, description="How long a lock lasts (and the window failures count in)."
    )
    metrics_token: str = Field(
        default="",
        description="Bearer token Prometheus presents to scrape /metrics; empty: /metrics "
        "answers 404 (its figures are not for the public).",
    )
    password_min_length: int = Field(
        default=10, ge=8, le=64, description="The shortest password an official may be given."
    )
    admin_password: str = Field(
        default="", description="Password of the first `admin` account; generated when empty."
    )
    arq_queue: str = Field(default="petition-desk:queue", description="arq queue name.")
    sms_gateway_url: str = Field(
        default="",
        description="Generic HTTP SMS gateway; empty means messages go to the worker's log.",
    )
    sms_provider: Literal["auto", "generic", "aliyun", "tencent", "log"] = Field(
        default="auto",
        description="auto: the generic gateway when SMS_GATEWAY_URL is set, else the log.",
    )
    sms_timeout_seconds: float = 5.0
    aliyun_access_key_id: str = ""
    aliyun_access_key_secret: str = ""
    aliyun_sms_sign_name: str = ""
    aliyun_sms_template_code: str = Field(
        default="", description="A template with one variable `${content}` for the text."
    )
    aliyun_sms_endpoint: str = "https://dysmsapi.aliyuncs.com"
    tencent_secret_id: str = ""
    tencent_secret_key: str = ""
    tencent_sms_sdk_app_id: str = ""
    tencent_sms_sign_name: str = ""
    tencent_sms_template_id: str = Field(
        default="", description="A template with one variable `{1}` for the text."
    )
    tencent_sms_region: str = "ap-guangzhou"
    tencent_sms_endpoint: str = "https://sms.tencentcloudapi.com"
    alert_max_attempts: int = 8
    alert_retry_base_seconds: float = 0.5
    alert_retry_max_seconds: float = 300.0
    webhooks_allow_private: bool = Field(
        default=False,
        description="Allow webhook/robot URLs on private or loopback addresses (tests, local).",
    )
    sweep_interval_seconds: float = 2.0
    worker_poll_seconds: float = 0.05
    worker_send_concurrency: int = Field(
        default=50, ge=1, description="Messages one worker process has in flight at once."
    )
    worker_job_timeout_seconds: float = Field(
        default=20.0,
        ge=5,
        description=(
            "Longest a worker job may run. A worker that dies holds its jobs this long plus "
            "10 s before another worker runs them (arq's in-progress lock); jobs hand what is "
            "left to a retry after half of it."
        ),
    )
    worker_heartbeat_file: str = Field(
        default="",
        description="A file the worker touches every 5 s while its event loop runs, for a "
        "liveness probe (`python -m worker.alive`); empty: none.",
    )
    outbox_relay_grace_seconds: float = 2.0
    idempotency_retention_days: int = Field(
        default=7, ge=7, description="How long Idempotency-Key responses are kept (≥ 7 days)."
    )
    outbox_retention_days: int = Field(
        default=7,
        ge=2,
        description="How long outbox rows are kept once handed to Redis and past their time "
        "(≥ 2 days: the Redis-loss recovery hands out again what was recorded in the last day).",
    )
    font_dir: str = Field(
        default=".data/fonts",
        description="Where the CJK font of the written notices is cached (relative to the "
        "project unless absolute); installed there by npm on first use or by `make fonts`.",
    )
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text for a terminal; json (one object a line, with the request id) for a "
        "log collector.",
    )
    requests_per_minute: int = Field(
        default=600, ge=1, description="Requests one token may make per minute (429 above)."
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body accepted (413 above)."
    )
    max_upload_bytes: int = Field(
        default=16 * 1_048_576,
        ge=1024,
        description="Largest request body of a file upload (multipart or a tus PATCH), 413 "
        "above; the policy's limits per file and per case are checked after it.",
    )
    materials_backend: Literal["local", "s3"] = Field(
        default="local",
        description="Where materials' bytes are kept: local (files under MATERIALS_DIR) or s3 "
        "(any S3-compatible store: Alibaba OSS, Tencent COS, MinIO, Ceph).",
    )
    materials_dir: str = Field(
        default=".data/materials",
        description="The local store's blobs, and the parts of resumable uploads (either backend).",
    )
    materials_s3_bucket: str = ""
    materials_s3_endpoint_url: str = Field(
        default="", description="The S3-compatible endpoint; empty: AWS's own."
    )
    materials_s3_region: str = "us-east-1"
    materials_s3_access_key_id: str = ""
    materials_s3_secret_access_key: str = ""
    materials_s3_prefix: str = Field(default="", description="Prefix of every object key.")
    materials_s3_addressing_style: Literal["path", "virtual", "auto"] = Field(
        default="path", description="path (MinIO, Ceph) or virtual (OSS, COS) bucket addressing."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (CORS); none by default.",
    )
    default_language: Literal["zh", "en"] = Field(
        default="zh",
        description="Language of error answers (problem+json title, detail and field errors) "
        "when the request's Accept-Language prefers neither zh nor en: zh (Simplified Chinese) "
        "or en.",
    )

    @field_validator("database_url")
    @classmethod
    def _asyncpg(cls, value: str) -> str:
        return to_asyncpg_url(value)

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("PUBLIC_BASE_URL must be an http:// or https:// URL")
        return value

    def require_public_base_url(self) -> str:
        """`public_base_url`, or a `MissingSetting` saying why the API cannot start without
        it."""
        if not self.public_base_url:
            raise MissingSetting(
                "PUBLIC_BASE_URL is not set: it is where officials' phones reach the API, the "
                "base of the acknowledgement link in every SMS (e.g. https://xf.example.gov.cn). "
                "`make run` sets it from PORT; a deployment must set it."
            )
        return self.public_base_url


class MissingSetting(RuntimeError):
    """A setting the API cannot start without is not set."""


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
