"""The Home's data and its refresh: what each list holds, and who gets a new Home when."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import col

from bot.services.cards import claim_card
from bot.services.chat import ChatError, ChatRateLimited
from bot.services.deps import Deps
from bot.services.home import (
    HomeData,
    HomeList,
    decode_pages,
    encode_state,
    my_cards,
    queued_cards,
    read_page_turn,
    refresh_homes,
    show_home,
)
from bot.services.pipeline import ingest_mentions
from bot.slack.chat import ConsoleChat
from bot.store.db import session_scope
from bot.store.models import Card, CardState, HomeViewer, Mention
from tests.conftest import Clock, make_settings
from tests.factories import CHANNEL, NOW, make_fetched, make_watch


class HomeChat(ConsoleChat):
    """Records the Homes published; can fail, or run something while it renders one."""

    def __init__(self) -> None:
        super().__init__(io.StringIO())
        self.published: list[tuple[str, HomeData]] = []
        self.failures: list[ChatError] = []
        self.while_rendering: Callable[[], None] | None = None

    def home_fingerprint(self, home: HomeData) -> str:
        hook, self.while_rendering = self.while_rendering, None
        if hook is not None:
            hook()
        return super().home_fingerprint(home)

    def publish_home(self, user_id: str, home: HomeData) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.published.append((user_id, home))

    def users(self) -> list[str]:
        return [user for user, _ in self.published]


_external_ids = itertools.count(42000000)


def post_cards(
    engine: Engine,
    specs: list[tuple[int | None, timedelta]],
    *,
    now: datetime = NOW,
    channel: str = CHANNEL,
) -> list[int]:
    """Store one posted card per (priority, time since posted); return their ids in order."""
    watch = make_watch(engine, channel_id=channel)
    fetched = [
        make_fetched(
            external_id=str(next(_external_ids)), text=f"mention {i}", url=f"https://h.test/{i}"
        )
        for i in range(len(specs))
    ]
    with session_scope(engine) as session:
        queued = ingest_mentions(fetched, watch=watch, authors={}, session=session, now=now)
    card_ids = [c.id for c in queued if c.id is not None]
    with session_scope(engine) as session:
        for i, (card_id, (priority, ago)) in enumerate(zip(card_ids, specs, strict=True)):
            card = session.get(Card, card_id)
            assert card is not None
            card.state = CardState.POSTED
            card.message_ts = card.thread_ts = f"1700000000.{i + 1:06d}"
            card.posted_at = now - ago
            session.add(card)
            session.execute(
                update(Mention).where(col(Mention.id) == card.mention_id).values(priority=priority)
            )
    return card_ids


def deps_for(engine: Engine, chat: HomeChat, clock: Clock) -> Deps:
    return Deps(make_settings(), engine, chat, {}, clock=clock)


def claim(engine: Engine, card_id: int, user: str, now: datetime = NOW) -> None:
    with session_scope(engine) as session:
        claim_card(card_id, user, session=session, now=now)


def test_the_queue_is_posted_unclaimed_cards_by_priority_then_longest_waiting(
    engine: Engine,
) -> None:
    minutes = timedelta(minutes=1)
    ids = post_cards(
        engine, [(3, 90 * minutes), (1, 5 * minutes), (None, 500 * minutes), (1, 30 * minutes)]
    )
    claim(engine, ids[0], "UBOB")

    with session_scope(engine) as session:
        queue, total = queued_cards(session=session, now=NOW)

    assert total == 3
    assert [(c.card_id, c.priority, c.age) for c in queue] == [
        (ids[3], 1, 30 * minutes),
        (ids[1], 1, 5 * minutes),
        (ids[2], None, 500 * minutes),
    ]
    assert queue[0].snippet == "mention 3" and queue[0].network == "hackernews"


def test_my_cards_are_the_ones_i_claimed_and_still_hold(engine: Engine) -> None:
    ids = post_cards(engine, [(2, timedelta(hours=1))] * 4)
    claim(engine, ids[0], "UALICE", NOW - timedelta(minutes=20))
    claim(engine, ids[1], "UBOB")
    claim(engine, ids[2], "UALICE", NOW - timedelta(minutes=50))
    with session_scope(engine) as session:
        session.execute(update(Card).where(col(Card.id) == ids[2]).values(state=CardState.RESOLVED))

    with session_scope(engine) as session:
        mine = my_cards("UALICE", session=session, now=NOW)

    assert [(c.card_id, c.age) for c in mine] == [(ids[0], timedelta(minutes=20))]


def test_the_pages_a_person_is_on_are_kept_with_the_fingerprint() -> None:
    state = encode_state({HomeList.QUEUE: 3, HomeList.WATCHES: 2}, "ab" * 40)

    assert state == "m1.q3.w2:" + "ab" * 20
    assert decode_pages(state) == {HomeList.MINE: 1, HomeList.QUEUE: 3, HomeList.WATCHES: 2}
    assert decode_pages(None) == decode_pages("garbage") == dict.fromkeys(HomeList, 1)


@pytest.mark.parametrize(
    ("value", "turn"),
    [
        ("queue:2", (HomeList.QUEUE, 2)),
        ("watches:1", (HomeList.WATCHES, 1)),
        ("queue:99999999", (HomeList.QUEUE, 9999)),
        ("queue:-1", None),
        ("admin:2", None),
        ("", None),
    ],
)
def test_a_page_button_value_is_read_strictly(value: str, turn: object) -> None:
    assert read_page_turn(value) == turn


def test_the_refresh_publishes_only_for_viewers_and_only_what_changed(engine: Engine) -> None:
    chat, clock = HomeChat(), Clock(NOW)
    deps = deps_for(engine, chat, clock)
    ids = post_cards(engine, [(2, timedelta(minutes=5))] * 2)

    assert refresh_homes(deps) == []  # nobody has opened the Home yet
    show_home(deps, "UALICE")
    assert refresh_homes(deps) == []  # nothing changed since

    claim(engine, ids[0], "UBOB")  # Bob never opened his Home
    assert refresh_homes(deps) == ["UALICE"]
    assert refresh_homes(deps) == []
    assert chat.users() == ["UALICE", "UALICE"]
    assert chat.published[-1][1].queue.total == 1


def test_a_home_not_opened_for_a_week_is_left_alone(engine: Engine) -> None:
    chat, clock = HomeChat(), Clock(NOW)
    deps = deps_for(engine, chat, clock)
    show_home(deps, "UALICE")
    clock.advance(days=7, seconds=1)

    post_cards(engine, [(1, timedelta(0))], now=clock())

    assert refresh_homes(deps) == []


def test_two_workers_refreshing_at_once_publish_a_change_once(engine: Engine) -> None:
    first_chat, second_chat, clock = HomeChat(), HomeChat(), Clock(NOW)
    first, second = deps_for(engine, first_chat, clock), deps_for(engine, second_chat, clock)
    ids = post_cards(engine, [(2, timedelta(minutes=5))])
    show_home(first, "UALICE")
    claim(engine, ids[0], "UBOB")
    first_ran: list[list[str]] = []
    # Both read Alice's state before either publishes: the first publishes while the second
    # is still rendering, so the second's compare-and-set finds the state moved.
    second_chat.while_rendering = lambda: first_ran.append(refresh_homes(first))

    assert refresh_homes(second) == []

    assert first_ran == [["UALICE"]]
    assert first_chat.users() == ["UALICE", "UALICE"]  # opened, then the change
    assert second_chat.published == []


def test_a_refresh_slack_refuses_is_tried_again_next_run(engine: Engine) -> None:
    chat, clock = HomeChat(), Clock(NOW)
    deps = deps_for(engine, chat, clock)
    ids = post_cards(engine, [(2, timedelta(minutes=5))])
    show_home(deps, "UALICE")
    claim(engine, ids[0], "UBOB")
    chat.failures = [ChatError("internal_error")]

    assert refresh_homes(deps) == []
    assert refresh_homes(deps) == ["UALICE"]


def test_a_refresh_run_publishes_at_most_its_cap_the_longest_waiting_first(
    engine: Engine,
) -> None:
    chat, clock = HomeChat(), Clock(NOW)
    deps = deps_for(engine, chat, clock)
    for user in ("UA", "UB", "UC"):
        show_home(deps, user)
        clock.advance(seconds=1)
    ids = post_cards(engine, [(2, timedelta(minutes=5))])
    claim(engine, ids[0], "UBOB")

    assert refresh_homes(deps, limit=2) == ["UA", "UB"]
    assert refresh_homes(deps, limit=2) == ["UC"]


def test_a_rate_limit_ends_the_refresh_run(engine: Engine) -> None:
    chat, clock = HomeChat(), Clock(NOW)
    deps = deps_for(engine, chat, clock)
    show_home(deps, "UA")
    show_home(deps, "UB")
    post_cards(engine, [(2, timedelta(minutes=5))])
    chat.failures = [ChatRateLimited(30)]

    assert refresh_homes(deps) == []
    assert refresh_homes(deps) == ["UA", "UB"]


def test_a_turned_page_stays_turned_when_the_home_is_refreshed(engine: Engine) -> None:
    chat, clock = HomeChat(), Clock(NOW)
    deps = deps_for(engine, chat, clock)
    ids = post_cards(engine, [(2, timedelta(minutes=n)) for n in range(40)])
    show_home(deps, "UALICE", turn=(HomeList.QUEUE, 2))

    claim(engine, ids[0], "UBOB")
    assert refresh_homes(deps) == ["UALICE"]

    refreshed = chat.published[-1][1]
    assert (refreshed.queue.number, refreshed.queue.pages, refreshed.queue.total) == (2, 3, 39)
    with session_scope(engine) as session:
        viewer = session.get(HomeViewer, "UALICE")
        assert viewer is not None and decode_pages(viewer.published_hash)[HomeList.QUEUE] == 2
