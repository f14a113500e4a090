"""Editing a watch: checked like a new one, cursors kept for the networks that stay."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.services.digest_times import DigestTimeError, digest_time, set_digest_time
from bot.services.watches import WatchError, edit_watch
from bot.sources import NETWORKS
from bot.store.db import session_scope
from bot.store.models import SourceCursor, Watch
from tests.factories import CHANNEL, NOW, make_watch

FEED = "https://93.184.215.14/feed"  # an address, so the check needs no DNS


def edit(engine: Engine, watch_id: int, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "query": "acme",
        "sources": ["hackernews"],
        "channel_id": CHANNEL,
        "options": {},
        "interval_s": 300,
    }
    values.update(changes)
    with session_scope(engine) as session:
        return edit_watch(
            watch_id,
            values.pop("query"),
            values.pop("sources"),
            values.pop("channel_id"),
            known_sources=NETWORKS,
            session=session,
            **values,
        )


def cursors(engine: Engine, watch_id: int) -> dict[str, dict[str, Any]]:
    with session_scope(engine) as session:
        rows = session.exec(select(SourceCursor).where(SourceCursor.watch_id == watch_id))
        return {row.source: row.cursor for row in rows}


def watch_with_cursors(engine: Engine) -> int:
    watch = make_watch(engine, sources=["hackernews", "reddit", "rss"], options={"feed_url": FEED})
    assert watch.id is not None
    with session_scope(engine) as session:
        for source in watch.sources:
            session.add(SourceCursor(watch_id=watch.id, source=source, cursor={"at": source}))
    return watch.id


def test_an_edit_changes_every_field_and_says_what_changed(engine: Engine) -> None:
    watch_id = watch_with_cursors(engine)

    change = edit(
        engine,
        watch_id,
        query=" acme   cloud ",
        sources=["hackernews", "rss"],
        channel_id="C0NEWS",
        interval_s=600,
        options={"feed_url": FEED},
    )

    assert change.changes == {
        "query": ("acme", "acme cloud"),
        "sources": ("hackernews, reddit, rss", "hackernews, rss"),
        "channel": (CHANNEL, "C0NEWS"),
        "interval": ("300 s", "600 s"),
    }
    with session_scope(engine) as session:
        stored = session.get(Watch, watch_id)
        assert stored is not None
        assert (stored.query, stored.sources, stored.channel_id, stored.interval_s) == (
            "acme cloud",
            ["hackernews", "rss"],
            "C0NEWS",
            600,
        )
    # Networks that stay read on from where they were; the dropped one's cursor goes.
    assert cursors(engine, watch_id) == {"hackernews": {"at": "hackernews"}, "rss": {"at": "rss"}}


def test_a_network_whose_options_change_starts_again(engine: Engine) -> None:
    watch_id = watch_with_cursors(engine)

    change = edit(
        engine,
        watch_id,
        sources=["hackernews", "reddit", "rss"],
        options={"feed_url": "https://93.184.215.15/feed"},
    )

    assert change.changes["options"] == (f"feed_url={FEED}", "feed_url=https://93.184.215.15/feed")
    assert set(cursors(engine, watch_id)) == {"hackernews", "reddit"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"query": "acme OR"}, "query"),
        ({"sources": []}, "sources"),
        ({"sources": ["myspace"]}, "sources"),
        ({"channel_id": "#support"}, "channel"),
        ({"interval_s": 5}, "interval"),
        ({"sources": ["rss"]}, "feed_url"),
    ],
)
def test_a_bad_edit_names_the_field_and_changes_nothing(
    engine: Engine, changes: dict[str, Any], field: str
) -> None:
    watch_id = watch_with_cursors(engine)

    with pytest.raises(WatchError) as raised:
        edit(engine, watch_id, **changes)

    assert raised.value.field == field
    with session_scope(engine) as session:
        stored = session.get(Watch, watch_id)
        assert stored is not None and stored.query == "acme"
    assert len(cursors(engine, watch_id)) == 3


def test_editing_a_watch_that_is_gone_is_refused(engine: Engine) -> None:
    with pytest.raises(WatchError, match="no watch with id 4"):
        edit(engine, 4)


def test_a_digest_time_is_stored_per_channel_and_replaced(engine: Engine) -> None:
    with session_scope(engine) as session:
        set_digest_time(CHANNEL, "9:05", "Europe/Paris", by="UADMIN", session=session, now=NOW)
    with session_scope(engine) as session:
        set_digest_time(CHANNEL, "17:30", "UTC", weekly=True, by="UOTHER", session=session, now=NOW)
    with session_scope(engine) as session:
        row = digest_time(CHANNEL, session=session)
        assert digest_time("C0ELSE", session=session) is None

    assert row is not None
    assert (row.at_time, row.timezone, row.weekly, row.updated_by) == (
        "17:30",
        "UTC",
        True,
        "UOTHER",
    )


@pytest.mark.parametrize(
    ("channel", "at", "zone", "message"),
    [
        (CHANNEL, "25:00", "UTC", "not a time"),
        (CHANNEL, "9am", "UTC", "not a time"),
        (CHANNEL, "09:00", "Mars/Olympus", "not a time zone"),
        (CHANNEL, "09:00", "../etc/passwd", "not a time zone"),
        ("#support", "09:00", "UTC", "not a channel"),
    ],
)
def test_a_bad_digest_time_is_refused(
    engine: Engine, channel: str, at: str, zone: str, message: str
) -> None:
    with session_scope(engine) as session, pytest.raises(DigestTimeError, match=message):
        set_digest_time(channel, at, zone, by="UADMIN", session=session, now=NOW)
    with session_scope(engine) as session:
        assert digest_time(CHANNEL, session=session) is None
