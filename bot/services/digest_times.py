"""When each channel gets its digest: a local time in a time zone, daily or weekly."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from bot.services.watches import CHANNEL_ID
from bot.store.models import DigestSchedule

_HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class DigestTimeError(ValueError):
    """A digest time that can't be stored; the message says what to type instead."""


def set_digest_time(
    channel_id: str,
    at: str,
    timezone: str,
    *,
    weekly: bool = False,
    name_staff: bool | None = None,
    by: str,
    session: Session,
    now: datetime,
) -> DigestSchedule:
    """Store when `channel_id` gets its digest, replacing the time it had.

    `name_staff` (mention people by name in its response times) is kept when None.
    """
    if not CHANNEL_ID.match(channel_id):
        raise DigestTimeError(f"{channel_id!r} is not a channel: name one like #support")
    match = _HH_MM.match(at.strip())
    if match is None:
        raise DigestTimeError(f"{at!r} is not a time: write it as HH:MM, like 09:00")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DigestTimeError(
            f"{timezone!r} is not a time zone: use an IANA name like Europe/Paris or UTC"
        ) from None
    at_time = f"{int(match.group(1)):02d}:{match.group(2)}"
    row = session.get(DigestSchedule, channel_id)
    if row is None:
        row = DigestSchedule(
            channel_id=channel_id,
            at_time=at_time,
            timezone=timezone,
            weekly=weekly,
            updated_by=by,
            updated_at=now,
        )
    else:
        row.at_time, row.timezone, row.weekly = at_time, timezone, weekly
        row.updated_by, row.updated_at = by, now
    if name_staff is not None:
        row.name_staff = name_staff
    session.add(row)
    session.flush()
    return row


def digest_time(channel_id: str, *, session: Session) -> DigestSchedule | None:
    """When `channel_id` gets its digest, or None when it has no digest."""
    return session.get(DigestSchedule, channel_id)
