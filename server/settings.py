"""Settings from the environment (``DAIBAN_`` prefix), read when an entry point starts."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import msgspec

DEFAULT_SQLITE_PATH = "var/daiban.sqlite"


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    token_ttl_hours: int = 12
    demo_password: str = "demo"
    max_body_bytes: int = 2 * 1024 * 1024
    max_sync_batch: int = 500
    sync_page_size: int = 200
    #: Sign-in windows in `limits` notation (see server.throttle): per username and address
    #: (growing delays), per username from anywhere, per address across usernames.
    login_limits_account: str = "5/minute;10/10 minutes;20/hour"
    login_limits_username: str = "50/hour"
    login_limits_address: str = "60/minute;600/hour"
    #: Run the SLA sweep and other jobs in-process when no Redis is configured.
    embedded_jobs: bool = True
    #: Logs: "json" (production), "console" (a person reading a terminal) or "auto" (console on a tty).
    log_format: str = "auto"
    log_level: str = "info"
    #: An OTLP/HTTP endpoint turns tracing on; unset, nothing of OpenTelemetry is imported.
    otel_endpoint: str | None = None
    #: Port where ``daiban worker`` serves its own /metrics (job runs, open cases per county); 0: none.
    worker_metrics_port: int = 0
    #: Seconds a stopping API process gives in-flight requests; /ready's probes time out sooner.
    shutdown_timeout: int = 20
    ready_timeout: float = 2.0
    #: Outgoing webhooks: attempts per notification, the first retry's delay (doubling
    #: after each failure) and the time a receiver gets to answer, in seconds.
    webhook_attempts: int = 6
    webhook_retry_seconds: float = 10.0
    webhook_timeout: float = 10.0
    #: Attachment storage: empty for a folder beside the SQLite file, a folder path, or
    #: ``s3://bucket/prefix`` (credentials from the S3 settings below or the AWS_* variables).
    attachments_url: str = ""
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    #: Working days a resolved case waits for the applicant's rating before closing as 未评价.
    unrated_close_days: int = 10
    #: HMAC key of the person-search index (server.search); changing it needs a reindex.
    search_key: str = "daiban-demo-search-key"
    #: Public base URL printed in rating links (QR codes on receipts); default: host and port.
    public_url: str = ""
    #: Applicant rating attempts per client address and minute (the public rating endpoint).
    ratings_per_minute: int = 10

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> str:
        return self.database_url.removeprefix("sqlite:///")


#: Environment variable → (setting, how to read its text).
_FIELDS: dict[str, tuple[str, Callable[[str], object]]] = {
    "DAIBAN_DATABASE_URL": ("database_url", str),
    "DAIBAN_REDIS_URL": ("redis_url", str),
    "DAIBAN_HOST": ("host", str),
    "DAIBAN_PORT": ("port", int),
    "DAIBAN_TOKEN_TTL_HOURS": ("token_ttl_hours", int),
    "DAIBAN_DEMO_PASSWORD": ("demo_password", str),
    "DAIBAN_MAX_BODY_BYTES": ("max_body_bytes", int),
    "DAIBAN_ATTACHMENTS": ("attachments_url", str),
    "DAIBAN_S3_ENDPOINT": ("s3_endpoint", str),
    "DAIBAN_S3_REGION": ("s3_region", str),
    "DAIBAN_S3_ACCESS_KEY_ID": ("s3_access_key_id", str),
    "DAIBAN_S3_SECRET_ACCESS_KEY": ("s3_secret_access_key", str),
    "DAIBAN_LOGIN_LIMITS_ACCOUNT": ("login_limits_account", str),
    "DAIBAN_LOGIN_LIMITS_USERNAME": ("login_limits_username", str),
    "DAIBAN_LOGIN_LIMITS_ADDRESS": ("login_limits_address", str),
    "DAIBAN_EMBEDDED_JOBS": ("embedded_jobs", lambda v: v.lower() in ("1", "true", "yes")),
    "DAIBAN_LOG_FORMAT": ("log_format", str),
    "DAIBAN_LOG_LEVEL": ("log_level", str),
    "DAIBAN_OTEL_ENDPOINT": ("otel_endpoint", str),
    "DAIBAN_WORKER_METRICS_PORT": ("worker_metrics_port", int),
    "DAIBAN_SHUTDOWN_TIMEOUT": ("shutdown_timeout", int),
    "DAIBAN_READY_TIMEOUT": ("ready_timeout", float),
    "DAIBAN_UNRATED_CLOSE_DAYS": ("unrated_close_days", int),
    "DAIBAN_SEARCH_KEY": ("search_key", str),
    "DAIBAN_PUBLIC_URL": ("public_url", str),
    "DAIBAN_RATINGS_PER_MINUTE": ("ratings_per_minute", int),
    "DAIBAN_WEBHOOK_ATTEMPTS": ("webhook_attempts", int),
    "DAIBAN_WEBHOOK_RETRY_SECONDS": ("webhook_retry_seconds", float),
    "DAIBAN_WEBHOOK_TIMEOUT": ("webhook_timeout", float),
}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from ``environ`` (default ``os.environ``), then ``overrides``."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for key, (name, conv) in _FIELDS.items():
        if env.get(key):
            values[name] = conv(env[key])
    values.update(overrides)
    return msgspec.convert(values, Settings)
