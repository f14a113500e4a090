"""Coerce the loosely typed values of a network's answer into the types a mention needs.

A source never trusts a field's type: each helper takes whatever decoding gave (`object`) and
returns a value of one type, or None when the value is missing or unusable, never raising.
Times come back timezone-aware in UTC; a time without a zone is taken to be UTC, never the
machine's local zone.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

_DECIMAL = re.compile(r"-?[0-9]+")


def opt_str(value: object) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def opt_int(value: object) -> int | None:
    """An int from an int, an integral float or an ASCII decimal string; bools are not ints."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None  # NaN and ±inf are not integral
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        try:
            return int(value)
        except ValueError:  # more digits than Python converts
            return None
    return None


def opt_count(value: object) -> int | None:
    """A count: a non-negative `opt_int`, else None (some servers send -1 for a hidden count)."""
    number = opt_int(value)
    return number if number is not None and number >= 0 else None


def opt_float(value: object) -> float | None:
    """A finite float from a number or a numeric string (such as a header), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def epoch_time(value: object) -> datetime | None:
    """An aware UTC time from positive unix seconds (an int or a float), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return None  # `not value > 0` also turns NaN away
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def iso_time(value: object) -> datetime | None:
    """An aware UTC time from an ISO 8601 string (`Z` or an offset; none means UTC), else None."""
    if not isinstance(value, str):
        return None
    try:
        return as_utc(datetime.fromisoformat(value.strip()))
    except (ValueError, OverflowError):  # not ISO 8601, or out of range once moved to UTC
        return None


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def http_url(value: object) -> str | None:
    """The string stripped, if it is an absolute http(s) URL with a host, else None."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url
