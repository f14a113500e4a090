"""What every source's shared constructor promises: its clock is used, its options are checked."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.sources.base import RateLimited, SearchSpec
from bot.sources.hackernews import HackerNewsSource
from bot.sources.x import XSource

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _rate_limited_until(moment: datetime) -> httpx.MockTransport:
    retry_after = email.utils.format_datetime(moment, usegmt=True)
    return httpx.MockTransport(lambda _: httpx.Response(429, headers={"Retry-After": retry_after}))


def test_a_rate_limit_given_as_a_date_is_measured_on_the_injected_clock() -> None:
    with httpx.Client(transport=_rate_limited_until(NOW + timedelta(minutes=2))) as client:
        source = HackerNewsSource(client, clock=lambda: NOW, sleep=lambda _s: None)

        with pytest.raises(RateLimited) as caught:
            source.fetch(SearchSpec(query="acme"), {}, now=NOW)

    assert caught.value.retry_after_s == 120


def test_an_unknown_constructor_option_is_refused() -> None:
    with httpx.Client() as client, pytest.raises(TypeError, match="max_page"):
        XSource(client, bearer_token="t", max_page=3)  # type: ignore[call-arg]


def test_max_pages_must_allow_one_page() -> None:
    with httpx.Client() as client, pytest.raises(ValueError, match="at least 1"):
        HackerNewsSource(client, max_pages=0)
