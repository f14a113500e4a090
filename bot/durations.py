"""Short plain-text time spans for people: "5 min", "3 h", "2 d"."""

from __future__ import annotations

from datetime import timedelta

MINUTE_S = 60
HOUR_S = 60 * MINUTE_S
DAY_S = 24 * HOUR_S
_UNITS = (("d", DAY_S), ("h", HOUR_S), ("min", MINUTE_S))


def short_duration(delta: timedelta) -> str | None:
    """The span in its largest whole unit ("5 min", "3 h", "2 d"); None under a minute.

    A negative span (a clock that stepped back) counts as none.
    """
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in _UNITS:
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return None
