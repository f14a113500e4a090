"""How long a server asked us to wait (Retry-After, rate-limit resets), read one way and bounded.

A server's answer decides how long a network or a Slack channel stays paused, so it is never
trusted to be sane: whatever it says, the wait is at most `MAX_WAIT_S`, and no spelling of a
far-off time (a huge delay, a date in year 9999, `1e20`) can raise.
"""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime

# The longest pause any Retry-After or reset header can cause. A longer outage is simply
# asked about again after an hour, which costs one request.
MAX_WAIT_S = 3600.0
# A number this large is a unix time (September 2001 onwards), not a delay in seconds:
# some networks send their rate-limit reset as the moment it happens.
UNIX_TIME_FROM = 1_000_000_000


def seconds_to_wait(raw: str, *, now: datetime) -> float | None:
    """Seconds from `now` until `raw`, between 0 and MAX_WAIT_S; None when it is unreadable.

    `raw` may be a delay in seconds, a unix time, an HTTP date or an ISO 8601 time, as
    Retry-After (RFC 9110) and the networks' rate-limit reset headers spell it.
    """
    raw = raw.strip()
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if math.isfinite(value) and value >= 0:
        seconds = value - now.timestamp() if value > UNIX_TIME_FROM else value
        return _bounded(seconds)
    moment = _moment(raw)
    if moment is None:
        return None
    try:
        return _bounded((moment - now).total_seconds())
    except OverflowError:  # a zone offset pushed the moment past the last representable day
        return MAX_WAIT_S


def _moment(raw: str) -> datetime | None:
    """An aware time from an HTTP date or an ISO 8601 time (no zone means UTC), else None."""
    moment: datetime | None
    try:
        moment = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        moment = None
    if moment is None:
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except (ValueError, OverflowError):
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _bounded(seconds: float) -> float:
    return min(MAX_WAIT_S, max(0.0, seconds))
