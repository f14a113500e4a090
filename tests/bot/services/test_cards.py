"""Claim, resolve, dismiss, reopen and snooze: a card's life, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.services.cards import (
    NOTE_MAX_CHARS,
    AlreadyClaimed,
    CardAction,
    NotAllowed,
    SnoozePeriod,
    apply_card_action,
    claim_card,
    count_open_cards,
    due_snoozed_cards,
    events_for,
    load_card,
    resolve_with_note,
    snooze_card,
    stale_cards,
    sync_card,
    wake_card,
    wake_due_cards,
)
from bot.services.chat import CardView
from bot.services.threads import note_reply
from bot.slack.chat import SlackChat
from bot.store.db import session_scope
from bot.store.models import CardState, EventKind
from tests.factories import CHANNEL, NOW, get_card, make_posted_card
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

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


# --- snooze, wake and closing notes --------------------------------------------------------


def snooze(engine: Engine, cid: int, user: str = "UALICE", *, at: datetime = NOW) -> None:
    with session_scope(engine) as session:
        snooze_card(cid, user, SnoozePeriod.FOUR_HOURS, session=session, now=at)


def test_a_snoozed_card_leaves_the_queue_until_its_time_with_who_snoozed_it(
    engine: Engine,
) -> None:
    cid = make_posted_card(engine)
    before = get_card(engine, cid).version

    snooze(engine, cid)

    card = get_card(engine, cid)
    assert (card.state, card.snoozed_until) == (CardState.SNOOZED, NOW + timedelta(hours=4))
    assert card.version == before + 1
    with session_scope(engine) as session:
        assert count_open_cards(session=session) == 0
        (event,) = [e for e in events_for(cid, session=session) if e.kind == "snoozed"]
    assert (event.actor, event.detail) == ("UALICE", {"until": "2026-11-26T13:00:00+00:00"})


def test_only_an_open_card_can_be_snoozed(engine: Engine) -> None:
    cid = make_posted_card(engine)
    act(engine, cid, "resolve", "UALICE")

    with pytest.raises(NotAllowed, match="resolved"):
        snooze(engine, cid)

    assert get_card(engine, cid).snoozed_until is None


def test_a_snoozed_card_is_not_woken_before_its_time(engine: Engine) -> None:
    cid = make_posted_card(engine)
    snooze(engine, cid)

    with session_scope(engine) as session:
        early = wake_card(cid, session=session, now=NOW + timedelta(hours=3, minutes=59))
        due = due_snoozed_cards(session=session, now=NOW + timedelta(hours=3, minutes=59))

    assert (early, due) == (None, [])
    assert get_card(engine, cid).state == CardState.SNOOZED


def test_a_due_card_wakes_back_in_the_queue_unclaimed(engine: Engine) -> None:
    cid = make_posted_card(engine)
    act(engine, cid, "claim", "UALICE")
    snooze(engine, cid)

    with session_scope(engine) as session:
        view = wake_card(cid, session=session, now=NOW + timedelta(hours=4))

    assert view is not None
    card = get_card(engine, cid)
    assert (card.state, card.claimed_by, card.snoozed_until) == (CardState.POSTED, None, None)
    with session_scope(engine) as session:
        assert [(e.kind, e.actor) for e in events_for(cid, session=session)][-1] == (
            "woke",
            "overheard",
        )


def test_two_wake_passes_racing_wake_each_card_once_and_announce_it_once(
    engine: Engine,
) -> None:
    cids = [make_posted_card(engine, external_id=str(41000001 + i)) for i in range(3)]
    for cid in cids:
        snooze(engine, cid)
    later = NOW + timedelta(hours=5)
    with FakeSlack(token=TEST_TOKEN) as fake:
        chat = SlackChat(WebClient(token=TEST_TOKEN, base_url=fake.base_url, timeout=5))
        barrier = threading.Barrier(2)

        def wake() -> list[int]:
            barrier.wait()
            return wake_due_cards(chat, engine=engine, now=later)

        with ThreadPoolExecutor(max_workers=2) as pool:
            first, second = pool.map(lambda _: wake(), range(2))

        assert sorted(first + second) == sorted(cids)  # each card woken by one pass only
        notes = [
            c for c in fake.calls_to("chat.postMessage") if "Back from snooze" in c.args["text"]
        ]
        assert len(notes) == 3
    with session_scope(engine) as session:
        for cid in cids:
            assert [e.kind for e in events_for(cid, session=session)].count("woke") == 1


def test_reopen_wakes_a_snoozed_card_early(engine: Engine) -> None:
    cid = make_posted_card(engine)
    snooze(engine, cid)

    act(engine, cid, "reopen", "UBOB")

    card = get_card(engine, cid)
    assert (card.state, card.snoozed_until) == (CardState.POSTED, None)
    with session_scope(engine) as session:
        assert due_snoozed_cards(session=session, now=NOW + timedelta(days=2)) == []


def test_resolving_with_a_note_keeps_the_note_and_reopening_clears_it(engine: Engine) -> None:
    cid = make_posted_card(engine)

    with session_scope(engine) as session:
        resolve_with_note(
            cid, "UALICE", "  Refunded;\x00 replied on HN.  ", session=session, now=NOW
        )

    card = get_card(engine, cid)
    assert (card.state, card.closed_by) == (CardState.RESOLVED, "UALICE")
    assert card.closing_note == "Refunded; replied on HN."
    with session_scope(engine) as session:
        (event,) = [e for e in events_for(cid, session=session) if e.kind == "resolved"]
    assert event.detail == {"note": "Refunded; replied on HN."}  # the log keeps it after a reopen
    act(engine, cid, "reopen", "UBOB")
    assert get_card(engine, cid).closing_note is None


@pytest.mark.parametrize(
    ("note", "reason"), [("   ", "empty"), ("x" * (NOTE_MAX_CHARS + 1), "longer than")]
)
def test_an_empty_or_overlong_note_is_refused_and_the_card_stays_open(
    engine: Engine, note: str, reason: str
) -> None:
    cid = make_posted_card(engine)

    with pytest.raises(NotAllowed, match=reason), session_scope(engine) as session:
        resolve_with_note(cid, "UALICE", note, session=session, now=NOW)

    assert get_card(engine, cid).state == CardState.POSTED


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
