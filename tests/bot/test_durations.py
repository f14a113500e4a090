"""Time spans for people: the largest whole unit, nothing under a minute."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.durations import short_duration


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(minutes=1), "1 min"),
        (timedelta(minutes=59, seconds=59), "59 min"),
        (timedelta(hours=1), "1 h"),
        (timedelta(hours=23, minutes=59), "23 h"),
        (timedelta(days=1), "1 d"),
        (timedelta(days=400), "400 d"),
    ],
)
def test_a_span_is_shown_in_its_largest_whole_unit(delta: timedelta, text: str) -> None:
    assert short_duration(delta) == text


@pytest.mark.parametrize("delta", [timedelta(0), timedelta(seconds=59.9), timedelta(hours=-3)])
def test_under_a_minute_or_backwards_is_no_span(delta: timedelta) -> None:
    assert short_duration(delta) is None
