"""The shared coercions of loosely typed JSON values every network source uses."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.sources.fields import (
    as_utc,
    epoch_time,
    http_url,
    iso_time,
    opt_count,
    opt_float,
    opt_int,
    opt_str,
)

MOMENT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
MOMENT_I = 1768478400  # MOMENT as epoch seconds


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("acme", "acme"),
        (" ", " "),
        ("", None),
        (None, None),
        (0, None),
        (b"acme", None),
        (["acme"], None),
    ],
)
def test_opt_str(value: object, expected: str | None) -> None:
    assert opt_str(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42, 42),
        (0, 0),
        (-7, -7),
        (12.0, 12),
        (-3.0, -3),
        ("123", 123),
        ("-45", -45),
        ("007", 7),
        (True, None),  # bools are ints to Python, never to a JSON field
        (False, None),
        (12.5, None),
        (math.nan, None),
        (math.inf, None),
        (-math.inf, None),
        ("", None),
        ("-", None),
        ("--5", None),
        ("+5", None),
        (" 5", None),
        ("1.0", None),
        ("1e3", None),
        ("12abc", None),
        ("²", None),  # a digit to str.isdigit, not to int()
        ("١٢٣", None),  # Arabic-Indic digits: only ASCII counts
        ("9" * 5000, None),  # past Python's int-from-str digit limit
        (None, None),
        ([1], None),
        ({"n": 1}, None),
    ],
)
def test_opt_int(value: object, expected: int | None) -> None:
    result = opt_int(value)
    assert result == expected
    assert result is None or type(result) is int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (17, 17),
        ("17", 17),
        (17.0, 17),
        (-1, None),  # some servers send -1 for a count an account hides
        ("-1", None),
        (True, None),
        (1.5, None),
        (math.nan, None),
        (None, None),
    ],
)
def test_opt_count(value: object, expected: int | None) -> None:
    assert opt_count(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.5", 1.5),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("-2", -2.0),
        (3, 3.0),
        (2.5, 2.5),
        ("nan", None),
        ("inf", None),
        ("-Infinity", None),
        ("1e400", None),  # overflows to inf
        (math.nan, None),
        (math.inf, None),
        (10**400, None),  # too large for a float
        (True, None),
        ("", None),
        ("soon", None),
        (None, None),
        ([1], None),
    ],
)
def test_opt_float(value: object, expected: float | None) -> None:
    assert opt_float(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (MOMENT_I, MOMENT),
        (float(MOMENT_I), MOMENT),
        (MOMENT_I + 0.25, MOMENT + timedelta(milliseconds=250)),
        (1, datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)),
        (0, None),  # no network dates a post at the epoch: a zero is a missing value
        (-1, None),
        (-86400.0, None),
        (math.nan, None),
        (math.inf, None),
        (-math.inf, None),
        (1e20, None),  # past year 9999
        (10**400, None),
        (True, None),
        (str(MOMENT_I), None),
        (None, None),
        ("2026-01-15T12:00:00Z", None),
    ],
)
def test_epoch_time(value: object, expected: datetime | None) -> None:
    result = epoch_time(value)
    assert result == expected
    assert result is None or result.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-15T12:00:00Z", MOMENT),
        ("2026-01-15T12:00:00.000Z", MOMENT),
        ("2026-01-15T12:00:00.250Z", MOMENT + timedelta(milliseconds=250)),
        ("2026-01-15T12:00:00+00:00", MOMENT),
        ("2026-01-15T14:00:00+02:00", MOMENT),
        ("2026-01-15T07:00:00-05:00", MOMENT),
        ("2026-01-15T12:00:00", MOMENT),  # naive: UTC, never the local zone
        ("2026-01-15 12:00:00", MOMENT),
        ("2026-01-15", MOMENT.replace(hour=0)),
        ("  2026-01-15T12:00:00Z\n", MOMENT),
        ("0001-01-01T00:00:00+01:00", None),  # before year 1 once moved to UTC
        ("2026-13-01T00:00:00Z", None),
        ("Thu, 15 Jan 2026 12:00:00 GMT", None),  # RFC 822 is not ISO 8601
        ("yesterday", None),
        ("", None),
        (None, None),
        (MOMENT_I, None),
        (MOMENT, None),
    ],
)
def test_iso_time(value: object, expected: datetime | None) -> None:
    result = iso_time(value)
    assert result == expected
    assert result is None or result.tzinfo is UTC


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 1, 15, 12, 0), MOMENT),  # noqa: DTZ001 - a naive time is the point
        (datetime(2026, 1, 15, 13, 0, tzinfo=timezone(timedelta(hours=1))), MOMENT),
        (MOMENT, MOMENT),
    ],
)
def test_as_utc(moment: datetime, expected: datetime) -> None:
    result = as_utc(moment)
    assert result == expected
    assert result.tzinfo is UTC
    assert result.hour == 12


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://example.com/a?b=c#d", "https://example.com/a?b=c#d"),
        ("http://example.com", "http://example.com"),
        ("  https://example.com/x \n", "https://example.com/x"),
        ("HTTPS://Example.com/", "HTTPS://Example.com/"),
        ("https://192.0.2.1:8443/", "https://192.0.2.1:8443/"),
        ("ftp://example.com/file", None),
        ("javascript:alert(1)", None),
        ("mailto:someone@example.com", None),
        ("data:text/html,<b>hi</b>", None),
        ("//example.com/a", None),  # scheme-relative
        ("/questions/1", None),
        ("example.com", None),
        ("https://", None),
        ("http:///path", None),
        ("http://[::1", None),  # an unbalanced IPv6 bracket
        ("", None),
        (None, None),
        (42, None),
        (["https://example.com"], None),
    ],
)
def test_http_url(value: object, expected: str | None) -> None:
    assert http_url(value) == expected
