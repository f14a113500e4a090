"""Claim, resolve, dismiss and reopen: the rules of a card's life, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot.services.cards import (
    AlreadyClaimed,
    CardAction,
    NotAllowed,
    apply_card_action,
    claim_card,
    events_for,
    load_card,
    stale_cards,
    sync_card,
)
from bot.services.chat import CardView
from bot.services.threads import note_reply
from bot.store.db import session_scope
from bot.store.models import CardState, EventKind
from tests.factories import CHANNEL, NOW, get_card, make_posted_card

CLAIMERS = 20


def act(engine: Engine, cid: int, action: str, user: str, *, channel: str = CHANNEL) -> None:
    with session_scope(engine) as session:
        apply_card_action(
            cid, CardAction(action), user, channel_id=channel, session=session, now=NOW
        )


def test_twenty_simultaneous_claims_have_exactly_one_winner(engine: Engine) -> None:
    cid = make_posted_card(engine)
    barrier = threading.Barrier(CLAIMERS)
    winners: list[str] = []
    losers: list[str] = []

    def claim(user: str) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                claim_card(cid, user, session=session, now=NOW)
            winners.append(user)
        except AlreadyClaimed as exc:
            losers.append(exc.by)

    threads = [threading.Thread(target=claim, args=(f"U{i:04d}",)) for i in range(CLAIMERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(winners) == 1
    assert losers == [winners[0]] * (CLAIMERS - 1)  # every loser is told who has it
    row = get_card(engine, cid)
    assert (row.state, row.claimed_by) == (CardState.CLAIMED, winners[0])
    with session_scope(engine) as session:
        claims = [e for e in events_for(cid, session=session) if e.kind == "claimed"]
    assert [e.actor for e in claims] == winners


def test_second_claim_is_rejected_with_the_claimers_name(engine: Engine) -> None:
    cid = make_posted_card(engine)
    act(engine, cid, "claim", "UALICE")

    with pytest.raises(AlreadyClaimed) as caught:
        act(engine, cid, "claim", "UBOB")

    assert caught.value.by == "UALICE"


def test_resolve_then_reopen_returns_the_card_unclaimed_with_every_step_logged(
    engine: Engine,
) -> None:
    cid = make_posted_card(engine)
    act(engine, cid, "claim", "UALICE")
    act(engine, cid, "resolve", "UALICE")
    resolved = get_card(engine, cid)
    assert (resolved.state, resolved.closed_by) == (CardState.RESOLVED, "UALICE")

    act(engine, cid, "reopen", "UBOB")

    reopened = get_card(engine, cid)
    assert reopened.state == CardState.POSTED
    assert reopened.claimed_by is None and reopened.closed_by is None
    with session_scope(engine) as session:
        log = [(e.kind, e.actor) for e in events_for(cid, session=session)]
    assert log == [
        ("queued", "overheard"),
        ("claimed", "UALICE"),
        ("resolved", "UALICE"),
        ("reopened", "UBOB"),
    ]


def test_a_closed_card_cannot_be_claimed_or_closed_again(engine: Engine) -> None:
    cid = make_posted_card(engine)
    act(engine, cid, "dismiss", "UALICE")

    with pytest.raises(NotAllowed):
        act(engine, cid, "claim", "UBOB")
    with pytest.raises(NotAllowed):
        act(engine, cid, "resolve", "UBOB")
    assert get_card(engine, cid).state == CardState.DISMISSED


def test_a_button_pressed_in_another_channel_changes_nothing(engine: Engine) -> None:
    cid = make_posted_card(engine)

    with pytest.raises(NotAllowed):
        act(engine, cid, "claim", "UMALLORY", channel="C0ELSEWHERE")

    assert get_card(engine, cid).state == CardState.POSTED


def test_timestamps_come_back_as_utc_on_every_database(engine: Engine) -> None:
    cid = make_posted_card(engine)
    with session_scope(engine) as session:
        apply_card_action(
            cid,
            CardAction.CLAIM,
            "UALICE",
            channel_id=CHANNEL,
            session=session,
            now=NOW + timedelta(minutes=7),
        )

    row = get_card(engine, cid)
    assert row.claimed_at == NOW + timedelta(minutes=7)
    assert row.claimed_at is not None and row.claimed_at.utcoffset() == timedelta(0)


class RecordingChat:
    """A chat backend that shows whatever it is sent last."""

    def __init__(self) -> None:
        self.shown: list[int] = []  # the versions Slack was sent, in the order they landed

    def update_card(self, view: CardView) -> None:
        self.shown.append(view.card.version)

    def post_card(
        self, view: CardView, *, thread_ts: str | None = None, broadcast: bool = False
    ) -> str:
        raise AssertionError("not posting here")

    def find_card(self, channel: str, card_id: int, *, thread_ts: str | None = None) -> str | None:
        return None

    def post_note(self, view: CardView, kind: EventKind, actor: str) -> None:
        """Notes don't matter here."""


def test_an_update_that_lands_after_a_newer_one_leaves_the_card_due_again(
    engine: Engine,
) -> None:
    cid = make_posted_card(engine)
    act(engine, cid, "claim", "UALICE")
    with session_scope(engine) as session:
        claimed = load_card(cid, session=session)  # a click's view, slow to reach Slack
    with session_scope(engine) as session:
        note_reply(CHANNEL, "1.0001", session=session)  # meanwhile a reply lands in the thread
    with session_scope(engine) as session:
        newer = load_card(cid, session=session)
    chat = RecordingChat()

    sync_card(chat, newer, engine=engine)
    sync_card(chat, claimed, engine=engine)  # ...and the older view lands last

    assert chat.shown == [newer.card.version, claimed.card.version]
    with session_scope(engine) as session:
        assert stale_cards(session=session, limit=10) == [cid]  # so the newest is sent again
        again = load_card(cid, session=session)
    sync_card(chat, again, engine=engine)
    with session_scope(engine) as session:
        assert stale_cards(session=session, limit=10) == []
    assert chat.shown[-1] == newer.card.version
