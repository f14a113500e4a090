"""Settings, read from the environment and `.env`; secrets stay SecretStr and are never logged."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SLACK_API_URL_DEFAULT = "https://slack.com/api/"
# The databases the migrations are written and tested for.
DATABASE_BACKENDS = ("sqlite", "postgresql")
DATABASE_URL_EXAMPLE = "sqlite:///overheard.db or postgresql://USER:PASSWORD@HOST:5432/DB"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """Every setting overheard reads; the README has the table."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(default="sqlite:///overheard.db", alias="DATABASE_URL")
    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default=SLACK_API_URL_DEFAULT, alias="SLACK_API_URL")
    allow_private_urls: bool = Field(default=False, alias="OVERHEARD_ALLOW_PRIVATE_URLS")

    # One base URL per network, so a proxy or a local fake can stand in for it.
    hackernews_url: str = Field(default="https://hn.algolia.com", alias="OVERHEARD_HACKERNEWS_URL")
    mastodon_url: str = Field(default="https://mastodon.social", alias="OVERHEARD_MASTODON_URL")
    mastodon_access_token: SecretStr | None = Field(default=None, alias="MASTODON_ACCESS_TOKEN")
    bluesky_url: str = Field(default="https://bsky.social", alias="OVERHEARD_BLUESKY_URL")
    bluesky_handle: str | None = Field(default=None, alias="BLUESKY_HANDLE")
    bluesky_app_password: SecretStr | None = Field(default=None, alias="BLUESKY_APP_PASSWORD")
    reddit_url: str = Field(default="https://oauth.reddit.com", alias="OVERHEARD_REDDIT_URL")
    reddit_auth_url: str = Field(
        default="https://www.reddit.com", alias="OVERHEARD_REDDIT_AUTH_URL"
    )
    reddit_client_id: str | None = Field(default=None, alias="REDDIT_CLIENT_ID")
    reddit_client_secret: SecretStr | None = Field(default=None, alias="REDDIT_CLIENT_SECRET")
    reddit_user_agent: str = Field(
        default="python:overheard:0.1 (brand-mention monitor)", alias="REDDIT_USER_AGENT"
    )
    x_url: str = Field(default="https://api.x.com", alias="OVERHEARD_X_URL")
    x_bearer_token: SecretStr | None = Field(default=None, alias="X_BEARER_TOKEN")
    appstore_url: str = Field(default="https://itunes.apple.com", alias="OVERHEARD_APPSTORE_URL")
    stackexchange_url: str = Field(
        default="https://api.stackexchange.com", alias="OVERHEARD_STACKEXCHANGE_URL"
    )
    stackexchange_key: SecretStr | None = Field(default=None, alias="STACKEXCHANGE_KEY")
    backfill_hours: float = Field(default=24.0, gt=0, alias="OVERHEARD_BACKFILL_HOURS")
    post_interval_s: float = Field(default=1.0, ge=0, alias="OVERHEARD_POST_INTERVAL_S")
    log_level: str = Field(default="INFO", alias="OVERHEARD_LOG_LEVEL")
    # `json`: one JSON object per line (time, level, logger, message, watch/mention/card ids).
    log_format: Literal["text", "json"] = Field(default="text", alias="OVERHEARD_LOG_FORMAT")
    # When set, /metrics answers only `Authorization: Bearer <this>`.
    metrics_token: SecretStr | None = Field(default=None, alias="OVERHEARD_METRICS_TOKEN")
    # Slack user ids who may change overheard besides the workspace's admins and owners.
    admin_user_ids: str = Field(default="", alias="OVERHEARD_ADMINS")
    # The workspace's time zone (IANA): digests go out at 09:00 here unless a channel says.
    timezone: str = Field(default="UTC", alias="OVERHEARD_TIMEZONE")

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, url: str) -> str:
        """Accept the `postgres://` and `postgresql://` URLs hosting platforms hand out.

        Anything else that is no SQLite or PostgreSQL URL is refused here, at start-up, with
        an example, rather than deep inside SQLAlchemy on the first query.
        """
        if not url.strip():
            raise ValueError(f"set it to a database URL, e.g. {DATABASE_URL_EXAMPLE}")
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                url = "postgresql+psycopg://" + url[len(prefix) :]
        try:
            backend = make_url(url).get_backend_name()
        except (ArgumentError, ValueError) as exc:
            raise ValueError(f"not a database URL: use e.g. {DATABASE_URL_EXAMPLE}") from exc
        if backend not in DATABASE_BACKENDS:
            raise ValueError(
                f"overheard runs on SQLite or PostgreSQL, not {backend}: "
                f"use e.g. {DATABASE_URL_EXAMPLE}"
            )
        return url

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        """Refuse a level `logging` doesn't know, instead of failing on the first log line."""
        name = level.strip().upper()
        if name not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return name

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        """Refuse a zone name the tz database doesn't know, at start-up rather than at 09:00."""
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {zone!r}") from exc
        return zone

    @field_validator("slack_api_url")
    @classmethod
    def _slash_terminated(cls, url: str) -> str:
        """slack_sdk joins method names onto the base URL, so it must end with a slash."""
        return url if url.endswith("/") else url + "/"

    @property
    def admins(self) -> frozenset[str]:
        """The configured admins' Slack user ids (`OVERHEARD_ADMINS`, comma or space separated)."""
        return frozenset(part for part in self.admin_user_ids.replace(",", " ").split() if part)

    @property
    def slack_configured(self) -> bool:
        """True when there is a bot token to talk to Slack with."""
        return self.slack_bot_token is not None and bool(self.slack_bot_token.get_secret_value())
