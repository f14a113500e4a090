"""Slack Web API clients: one for the poster, one for the listeners, built from Settings."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.config import Settings

SLACK_TIMEOUT_S = 30
LISTENER_RETRIES = 2


def poster_client(settings: Settings) -> WebClient:
    """The poster's client: it handles 429s itself, holding the channel for Retry-After."""
    if settings.slack_bot_token is None:
        raise ValueError("SLACK_BOT_TOKEN is not set")
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=SLACK_TIMEOUT_S,
    )


def listener_client(settings: Settings) -> WebClient:
    """The listeners' client (ephemerals, views): after the ack, a 429 waits and tries again."""
    client = poster_client(settings)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=LISTENER_RETRIES))
    return client
