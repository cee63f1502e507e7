"""All configuration, read once from ``SLAFLOW_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from slaflow.durations import Duration
from slaflow.roles import Role

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_AGREEMENTS_DIR = PACKAGE_DIR.parent / "agreements"
DEFAULT_AGREEMENT_FILE = DEFAULT_AGREEMENTS_DIR / "default.yaml"


class Settings(BaseSettings):
    """Every setting of every slaflow process; production sets these in the environment."""

    model_config = SettingsConfigDict(env_prefix="SLAFLOW_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development",
        description="production: the API and worker refuse to start with a missing, shipped "
        "or short secret (slaflow.secret_policy).",
    )

    data_dir: Path = Field(Path(".slaflow"), description="Where `slaflow run` keeps its state.")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite in data_dir.")
    agreement_file: Path = Field(
        DEFAULT_AGREEMENTS_DIR,
        description="An agreement file, or a directory of them (one per agreement): each "
        "agreement not yet in the database is seeded as its version 1 at start.",
    )

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_api_key: SecretStr | None = None
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    task_queue: str = "slaflow"
    temporal_ui_url: str = "http://localhost:8233"

    smtp_host: str = "localhost"
    smtp_port: int = 8025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "slaflow <slaflow@localhost>"

    slack_base_url: str = "https://slack.com/api/"
    slack_bot_token: SecretStr = Field(
        SecretStr(""), description="Bot token (xoxb-...); `slaflow run` makes a local one."
    )
    slack_signing_secret: SecretStr = Field(
        SecretStr(""),
        description="Verifies Slack's requests; empty refuses them all. `slaflow run` makes one.",
    )
    slack_replay_store: Literal["database", "memory"] = Field(
        "database",
        description="Where accepted Slack request signatures are kept for 5 minutes: the "
        "database (every API replica refuses a replay) or this process's memory.",
    )
    slack_socket_mode: bool = Field(
        False,
        description="Receive Slack clicks and /sla over Socket Mode (a websocket slaflow "
        "opens) instead of the public /slack endpoints; needs slack_app_token.",
    )
    slack_app_token: SecretStr | None = Field(
        None, description="Slack app-level token (xapp-..., scope connections:write)."
    )

    api_tokens: dict[str, Role] = Field(
        default_factory=dict,
        description='API tokens and their roles, JSON: {"<token>": "manager"}; '
        "`slaflow token create` stores hashed ones in the database instead.",
    )
    api_token_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long the API keeps a stored token's look-up; a revoked "
        "token stops working within this many seconds.",
    )
    session_secret: SecretStr | None = Field(
        None,
        description="Signs the dashboard's login cookie; give every API process the same one "
        "(unset: random per process, so a restart logs browsers out).",
    )
    cli_token: SecretStr | None = Field(
        None,
        description="The CLI's own API token: `slaflow ticket` and `slaflow amendment` act as "
        "the person it belongs to.",
    )
    signing_link_secret: SecretStr | None = Field(
        None,
        description="Signs the one-time links emailed to amendment signatories; the worker "
        "(which sends them) and the API (which checks them) need the same one. Unset: the "
        "emails carry no signing link.",
    )
    session_max_age: Duration = Field(
        timedelta(hours=12), description="How long a dashboard login lasts, e.g. 12h."
    )
    max_request_bytes: int = Field(
        1_048_576, gt=0, description="Larger request bodies are refused with 413."
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_url: str = "http://127.0.0.1:8000"

    slack_standin_port: int = 8010
    max_cached_workflows: int = 1000
    graceful_shutdown_seconds: float = 30.0
    service_level_check_every: Duration = Field(
        timedelta(minutes=15),
        description="How often the schedule checks service-level objectives, e.g. 15m; 0s: off.",
    )

    # Reports (README "Reports"): defaults of the parameters the API and CLI accept.
    report_quick_repause: Duration = Field(
        timedelta(minutes=10),
        description="Pause audit: a pause this soon after a resume is a quick re-pause, e.g. 10m.",
    )
    report_paused_share: float = Field(
        0.5, gt=0, le=1, description="Pause audit: flag tickets paused for more of their life."
    )
    report_deviation_drop: float = Field(
        0.05, ge=0, le=1, description="Deviations: a compliance drop larger than this (fraction)."
    )
    report_days: int = Field(
        30, ge=1, le=3660, description="Period of a report when `from` is not given."
    )

    # Operations: migrations, logs, metrics (README "Running in production").
    db_auto_migrate: bool = Field(
        True,
        description="Upgrade the database schema at worker/API start; production sets false "
        "and runs `slaflow db upgrade` once before starting them.",
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="text for people, json for one JSON object per line."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="The root log level of every slaflow process."
    )
    metrics_host: str = Field(
        "0.0.0.0", description="Address the worker's metrics endpoints listen on."
    )
    worker_metrics_port: int = Field(
        9464, ge=0, le=65535, description="slaflow's own worker metrics (Prometheus); 0: off."
    )
    temporal_metrics_port: int = Field(
        9465, ge=0, le=65535, description="The Temporal SDK's worker metrics (Prometheus); 0: off."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'slaflow.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
