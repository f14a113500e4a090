"""Muting an author on a watch: their later mentions are stored and logged, never posted."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.services.cards import NotAllowed, events_for
from bot.services.mutes import mute_author
from bot.services.pipeline import ingest_mentions
from bot.sources.base import FetchedAuthor, FetchedMention
from bot.store.db import session_scope
from bot.store.models import Card, CardState, Mention, MutedAuthor, Watch
from tests.factories import CHANNEL, NOW, get_card, make_fetched, make_posted_card, make_watch


def ingest(engine: Engine, watch: Watch, *fetched: FetchedMention) -> list[int]:
    with session_scope(engine) as session:
        cards = ingest_mentions(list(fetched), watch=watch, authors={}, session=session, now=NOW)
    return [c.id for c in cards if c.id is not None]


def watch_of(engine: Engine, card_id: int) -> Watch:
    with session_scope(engine) as session:
        card = session.get(Card, card_id)
        assert card is not None
        mention = session.get(Mention, card.mention_id)
        assert mention is not None and mention.watch_id is not None
        watch = session.get(Watch, mention.watch_id)
        assert watch is not None
        return watch


def mute(engine: Engine, card_id: int, user: str = "UALICE", channel: str = CHANNEL) -> None:
    with session_scope(engine) as session:
        mute_author(card_id, user, channel_id=channel, session=session, now=NOW)


def test_a_muted_authors_next_mention_is_stored_with_its_card_dismissed_and_logged(
    engine: Engine,
) -> None:
    first = make_posted_card(engine)
    watch = watch_of(engine, first)

    mute(engine, first)
    (later,) = ingest(engine, watch, make_fetched(external_id="41000002"))

    card = get_card(engine, later)
    assert (card.state, card.closed_by, card.message_ts) == (
        CardState.DISMISSED,
        "overheard",
        None,
    )
    with session_scope(engine) as session:
        log = [
            (e.kind, e.actor, e.detail.get("muted_by")) for e in events_for(later, session=session)
        ]
        stored = session.exec(select(Mention.external_id).order_by(col(Mention.id))).all()
    assert log == [("queued", "overheard", None), ("muted", "overheard", "UALICE")]
    assert stored == ["41000001", "41000002"]  # the mention itself is kept


def test_muting_leaves_other_authors_and_other_watches_alone(engine: Engine) -> None:
    first = make_posted_card(engine)
    watch = watch_of(engine, first)
    other_watch = make_watch(engine, channel_id="C0OTHER")
    mute(engine, first)

    (someone_else,) = ingest(
        engine,
        watch,
        make_fetched(external_id="41000002", author=FetchedAuthor(handle="wren")),
    )
    (elsewhere,) = ingest(engine, other_watch, make_fetched(external_id="41000003"))

    assert get_card(engine, someone_else).state == CardState.QUEUED
    assert get_card(engine, elsewhere).state == CardState.QUEUED


def test_muting_records_who_did_it_and_twice_is_refused(engine: Engine) -> None:
    card_id = make_posted_card(engine)
    mute(engine, card_id, "UALICE")

    with pytest.raises(NotAllowed, match="already muted"):
        mute(engine, card_id, "UBOB")

    with session_scope(engine) as session:
        (row,) = session.exec(select(MutedAuthor)).all()
        (event,) = [e for e in events_for(card_id, session=session) if e.kind == "author_muted"]
    assert (row.muted_by, row.watch_id) == ("UALICE", watch_of(engine, card_id).id)
    assert (event.actor, event.detail["author_id"]) == ("UALICE", row.author_id)


def test_muting_from_another_channel_is_refused(engine: Engine) -> None:
    card_id = make_posted_card(engine)

    with pytest.raises(NotAllowed, match="another channel"):
        mute(engine, card_id, "UMALLORY", channel="C0ELSEWHERE")

    with session_scope(engine) as session:
        assert session.exec(select(MutedAuthor)).all() == []
