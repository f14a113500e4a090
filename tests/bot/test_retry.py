"""Reading how long a server asked us to wait: every spelling, and never too long."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from bot.retry import MAX_WAIT_S, seconds_to_wait
from bot.sources.http import DEFAULT_RETRY_AFTER_S, retry_after_s

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("120", 120),
        (" 7 ", 7),
        ("0", 0),
        ("1.5", 1.5),
        ("Thu, 15 Jan 2026 12:05:00 GMT", 300),
        ("2026-01-15T12:02:00Z", 120),
        ("2026-01-15T12:02:00", 120),  # no zone: UTC
        (str(int(NOW.timestamp()) + 90), 90),  # a reset header's unix time
        ("Thu, 15 Jan 2026 11:00:00 GMT", 0),  # already past
    ],
)
def test_a_delay_a_date_or_a_unix_time_gives_the_seconds_to_wait(raw: str, seconds: float) -> None:
    assert seconds_to_wait(raw, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "raw",
    [
        "99999",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "1e20",
        "Fri, 31 Dec 9999 23:59:59 -2359",
        "9999-12-31T23:59:59-23:59",
    ],
)
def test_a_far_off_wait_is_capped_at_an_hour_without_overflowing(raw: str) -> None:
    assert seconds_to_wait(raw, now=NOW) == MAX_WAIT_S == 3600


@pytest.mark.parametrize(
    "raw", ["", "soon", "-5", "nan", "inf", "1e400", "Thu, 99 Foo 2026", "Fri, 31 Dec 99999"]
)
def test_an_unreadable_value_gives_none(raw: str) -> None:
    assert seconds_to_wait(raw, now=NOW) is None


def test_retry_after_wins_over_a_reset_header() -> None:
    headers = httpx.Headers({"Retry-After": "30", "x-ratelimit-reset": "600"})

    assert retry_after_s(headers, now=NOW) == 30


def test_an_unreadable_retry_after_falls_back_to_a_reset_header_then_the_default() -> None:
    both = httpx.Headers({"Retry-After": "x", "ratelimit-reset": "45"})

    assert retry_after_s(both, now=NOW) == 45
    assert retry_after_s(httpx.Headers({"Retry-After": "x"}), now=NOW) == DEFAULT_RETRY_AFTER_S


@pytest.mark.parametrize("raw", ["99999", "Fri, 31 Dec 9999 23:59:59 GMT", "1e20"])
def test_a_network_cannot_pause_a_source_for_more_than_an_hour(raw: str) -> None:
    assert retry_after_s(httpx.Headers({"Retry-After": raw}), now=NOW) == 3600
    assert retry_after_s(httpx.Headers({"x-rate-limit-reset": raw}), now=NOW) == 3600
