"""Settings, read from GOVSHARE_* environment variables.

Nothing here touches the database or the file system at import time; call
``get_settings()`` when a value is needed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 - the known development value we refuse elsewhere


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVSHARE_", extra="ignore")

    environment: str = Field(default="development", description="development | test | production")
    var_dir: Path = Field(
        default=Path("var"), description="where the SQLite file, keys and archives live"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; SQLite under var/ if unset"
    )
    secret_key: str = Field(default=DEV_SECRET, description="signs session cookies")
    session_https_only: bool = False
    trust_proxy: bool = Field(
        default=False,
        description="trust X-Forwarded-Proto from the TLS-terminating reverse proxy",
    )
    session_max_age_seconds: int = 8 * 3600
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    token_ttl_seconds: int = 900
    profile_dir: Path | None = Field(
        default=None,
        description="extra rule-profile YAML files; they override bundled ones by name",
    )
    node_modules_dir: Path = Field(default=Path("node_modules"))
    default_locale: str = "zh_CN"
    checkpoint_interval_seconds: int = 3600
    upload_max_bytes: int = Field(
        default=512 * 1024 * 1024, description="largest data file an upload accepts (bytes)"
    )
    log_level: str = "INFO"
    redis_url: str | None = Field(
        default=None,
        description="job queue on Redis (huey); the embedded SQLite queue var/jobs.db if unset",
    )
    smtp_url: str | None = Field(
        default=None,
        description=(
            "e-mail notices: smtp://[user:password@]host[:port][?starttls=1] or smtps://…; "
            "none: e-mail notices are skipped"
        ),
    )
    smtp_from: str | None = Field(
        default=None, description="the From address of e-mail notices (needed with smtp_url)"
    )
    export_link_ttl: int = Field(
        default=24 * 3600,
        ge=60,
        description="seconds a batch export's download link (and its file) stays valid",
    )

    @model_validator(mode="after")
    def _refuse_unsafe_secret(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key == DEV_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "GOVSHARE_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production"
            )
        return self

    @model_validator(mode="after")
    def _check_smtp(self) -> Settings:
        if self.smtp_url:
            parts = urlsplit(self.smtp_url)
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname or parts.port == 0:
                raise ValueError("GOVSHARE_SMTP_URL must look like smtp://host:port or smtps://…")
            if not self.smtp_from:
                raise ValueError("GOVSHARE_SMTP_FROM is required when GOVSHARE_SMTP_URL is set")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'govshare.db').as_posix()}"

    @property
    def keys_dir(self) -> Path:
        return self.var_dir / "keys"

    @property
    def archive_dir(self) -> Path:
        return self.var_dir / "archive"

    @property
    def jobs_db(self) -> Path:
        return self.var_dir / "jobs.db"

    @property
    def exports_dir(self) -> Path:
        return self.var_dir / "exports"

    @property
    def documents_dir(self) -> Path:
        return self.var_dir / "documents"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
