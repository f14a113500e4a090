"""Slack's pace per channel, shared by every poster: the next free moment, holds and pauses.

Each channel has one `ChannelPace` row. A poster reserves the channel's next moment with a
compare-and-set on `next_at` before each message, so two workers never post to one channel
faster than Slack allows. A 429 moves `next_at` to the end of its Retry-After; a channel
Slack refuses is paused, and its next moment is when it is tried again. The row `*` is the
whole workspace, paused while Slack refuses the token.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.store.db import session_scope
from bot.store.models import ChannelPace

WORKSPACE = "*"
# A compare-and-set lost this many times in a row leaves the channel to the next pass.
_RESERVE_ROUNDS = 8


def reserve(
    engine: Engine,
    channel_id: str,
    *,
    now: datetime,
    interval: timedelta,
    max_wait: timedelta,
    probe_every: timedelta,
) -> float | None:
    """Take the channel's next moment, at most `max_wait` away: the seconds to wait for it.

    None when it is further, or the channel is paused and not due a try yet. The next
    message after this one may go `interval` later, or `probe_every` later when the channel
    is paused (one message tries a paused channel, not one per worker).
    """
    for _round in range(_RESERVE_ROUNDS):
        with session_scope(engine) as session:
            row = session.get(ChannelPace, channel_id, populate_existing=True)
            if row is None:
                if _insert(session, channel_id, next_at=now + interval):
                    return 0.0
                continue
            slot = max(now, row.next_at)
            if slot - now > (timedelta(0) if row.paused_code else max_wait):
                return None
            step = probe_every if row.paused_code else interval
            result = session.execute(
                update(ChannelPace)
                .where(col(ChannelPace.channel_id) == channel_id)
                .where(col(ChannelPace.next_at) == row.next_at)
                .values(next_at=slot + step)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return (slot - now).total_seconds()
    return None


def _insert(session: Session, channel_id: str, *, next_at: datetime) -> bool:
    try:
        with session.begin_nested():  # another worker may start the row at the same moment
            session.add(ChannelPace(channel_id=channel_id, next_at=next_at))
            session.flush()
    except IntegrityError:
        return False
    return True


def hold(engine: Engine, channel_id: str, until: datetime) -> None:
    """Let nothing go to the channel before `until` (Slack's Retry-After)."""
    with session_scope(engine) as session:
        if session.get(ChannelPace, channel_id) is None and _insert(
            session, channel_id, next_at=until
        ):
            return
        session.execute(
            update(ChannelPace)
            .where(col(ChannelPace.channel_id) == channel_id)
            .where(col(ChannelPace.next_at) < until)
            .values(next_at=until)
        )


def pause(engine: Engine, channel_id: str, code: str, *, now: datetime, retry_at: datetime) -> None:
    """Stop posting to the channel (or the workspace, `*`) because of `code`, until `retry_at`."""
    with session_scope(engine) as session:
        row = session.get(ChannelPace, channel_id)
        if row is None and _insert(session, channel_id, next_at=retry_at):
            row = session.get(ChannelPace, channel_id, populate_existing=True)
        assert row is not None
        session.execute(
            update(ChannelPace)
            .where(col(ChannelPace.channel_id) == channel_id)
            .values(
                next_at=max(row.next_at, retry_at),
                paused_code=code,
                paused_at=row.paused_at if row.paused_code else now,
            )
        )


def note_posted(channel_id: str, *, session: Session, now: datetime, interval: timedelta) -> None:
    """A message got through: the channel and the workspace are not paused any more."""
    for paused in (channel_id, WORKSPACE):
        session.execute(
            update(ChannelPace)
            .where(col(ChannelPace.channel_id) == paused)
            .where(col(ChannelPace.paused_code).is_not(None))
            .values(paused_code=None, paused_at=None, next_at=now + interval)
        )
    session.execute(
        update(ChannelPace)
        .where(col(ChannelPace.channel_id) == channel_id)
        .values(last_posted_at=now)
    )


def paused(*, session: Session) -> list[ChannelPace]:
    """The paused channels, and the workspace when paused, the longest paused first."""
    stmt = (
        select(ChannelPace)
        .where(col(ChannelPace.paused_code).is_not(None))
        .order_by(col(ChannelPace.paused_at), col(ChannelPace.channel_id))
    )
    return list(session.exec(stmt))
