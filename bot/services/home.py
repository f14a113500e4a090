"""One person's App Home: their claimed cards, the queue, the watches' health, the day's numbers.

The Home is published when someone opens it or presses one of its buttons, and a worker
job re-publishes it for recent viewers when what it shows has changed. What was last
published to each person is remembered as a fingerprint (`HomeViewer.published_hash`),
swapped with a conditional UPDATE, so of two workers only one publishes a change.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Engine, UnaryExpression, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.chat import ChatError, ChatRateLimited
from bot.services.deps import Deps
from bot.services.health import HealthRow, SlackBacklog, describe_health, slack_backlog
from bot.services.notices import open_notices
from bot.services.stats import Numbers, last_day
from bot.services.watches import list_watches
from bot.sources.base import Source
from bot.store.db import session_scope
from bot.store.models import AdminNotice, Author, Card, CardState, HomeViewer, Mention, Watch
from bot.text import ELLIPSIS, clean_text

log = logging.getLogger(__name__)


class HomeList(enum.StrEnum):
    """The Home's lists that page."""

    MINE = "mine"
    QUEUE = "queue"
    WATCHES = "watches"


# Items per page, chosen so the whole Home stays far below Slack's 100 blocks: a card is
# one block, a watch two (its health and its buttons).
PAGE_SIZE = {HomeList.MINE: 10, HomeList.QUEUE: 15, HomeList.WATCHES: 8}
# Most cards read for a list; beyond them the Home says how many more there are.
MAX_LISTED = 750
MAX_PAGE = 9999
SNIPPET_CHARS = 140
# People who opened the Home this recently get it refreshed when it changes.
RECENT_VIEWER = timedelta(days=7)
# Publishes per refresh run (the worker runs one every 30 s): 40 a minute of the ~100 a
# minute views.publish allows, leaving the rest for people opening their Home.
HOME_PUBLISH_CAP = 20
FINGERPRINT_MAX_CHARS = 40
# The stored state: each list's page, then the fingerprint ("m1.q2.w1:ab12…").
_STATE = re.compile(r"^m(\d{1,4})\.q(\d{1,4})\.w(\d{1,4}):")


@dataclass(frozen=True, slots=True)
class HomeCard:
    """A card as a Home line: what it is about, how urgent, how long it has waited, where."""

    card_id: int
    channel_id: str
    message_ts: str
    thread_ts: str | None
    priority: int | None
    network: str
    author: str | None  # outside text
    snippet: str  # outside text, plain and short
    age: timedelta  # waiting since posted (the queue), held since claimed (mine)


@dataclass(frozen=True, slots=True)
class WatchStatus:
    """A watch and the health of each of its networks."""

    watch: Watch
    health: tuple[HealthRow, ...]


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its items, which page of how many, and the list's full length."""

    items: tuple[T, ...]
    number: int
    pages: int
    total: int


@dataclass(frozen=True, slots=True)
class Board:
    """What every Home shows alike, read once per refresh run."""

    queue: tuple[HomeCard, ...]
    queue_total: int
    watches: tuple[WatchStatus, ...]
    numbers: Numbers
    notices: tuple[AdminNotice, ...]
    slack: SlackBacklog | None = None


@dataclass(frozen=True, slots=True)
class HomeData:
    """Everything one person's Home shows."""

    user_id: str
    mine: Page[HomeCard]
    queue: Page[HomeCard]
    watches: Page[WatchStatus]
    numbers: Numbers
    notices: tuple[AdminNotice, ...]
    admins_configured: bool  # whether notices go to anyone by DM
    # A line for this person alone, written by us (a refusal, a confirmation); it is not part
    # of the fingerprint, so it stays until something else changes.
    flash: str | None = None
    # Cards waiting on Slack for too long, paused channels, a refused token; None when fine.
    slack: SlackBacklog | None = None

    @property
    def pages(self) -> dict[HomeList, int]:
        """The page each list is on."""
        return {
            HomeList.MINE: self.mine.number,
            HomeList.QUEUE: self.queue.number,
            HomeList.WATCHES: self.watches.number,
        }


def _snippet(mention: Mention) -> str:
    text = " ".join(clean_text(mention.title or mention.text).split())
    if len(text) <= SNIPPET_CHARS:
        return text
    return text[: SNIPPET_CHARS - 1].rstrip() + ELLIPSIS


def _cards(
    *,
    session: Session,
    now: datetime,
    where: Sequence[ColumnElement[bool]],
    since: UnaryExpression[Any],
    limit: int,
) -> list[HomeCard]:
    """Cards as Home lines, most urgent first, then by `since` (the oldest first)."""
    stmt = (
        select(Card, Mention, Author)
        .join(Mention, col(Mention.id) == Card.mention_id)
        .outerjoin(Author, col(Author.id) == Mention.author_id)
        .where(col(Card.message_ts).is_not(None), *where)
        .order_by(col(Mention.priority).asc().nulls_last(), since, col(Card.id))
        .limit(limit)
    )
    lines = []
    for card, mention, author in session.exec(stmt):
        assert card.id is not None
        assert card.message_ts is not None
        started = (
            card.claimed_at if card.state == CardState.CLAIMED else card.posted_at
        ) or card.queued_at
        lines.append(
            HomeCard(
                card_id=card.id,
                channel_id=card.channel_id,
                message_ts=card.message_ts,
                thread_ts=card.thread_ts,
                priority=mention.priority,
                network=mention.network,
                author=author.handle if author is not None else None,
                snippet=_snippet(mention),
                age=max(now - started, timedelta(0)),
            )
        )
    return lines


def my_cards(user_id: str, *, session: Session, now: datetime) -> list[HomeCard]:
    """The cards `user_id` has claimed and not closed, most urgent then longest held first."""
    return _cards(
        session=session,
        now=now,
        where=(col(Card.state) == CardState.CLAIMED, col(Card.claimed_by) == user_id),
        since=col(Card.claimed_at).asc(),
        limit=MAX_LISTED,
    )


def queued_cards(*, session: Session, now: datetime) -> tuple[list[HomeCard], int]:
    """Posted cards nobody has claimed, most urgent then longest waiting first; and how many."""
    total = session.exec(
        select(func.count())
        .select_from(Card)
        .where(col(Card.state) == CardState.POSTED, col(Card.message_ts).is_not(None))
    ).one()
    cards = _cards(
        session=session,
        now=now,
        where=(col(Card.state) == CardState.POSTED,),
        since=col(Card.posted_at).asc(),
        limit=MAX_LISTED,
    )
    return cards, int(total)


def watch_statuses(
    *, session: Session, sources: Mapping[str, Source], now: datetime
) -> list[WatchStatus]:
    """Every watch, oldest first, with each of its networks' health."""
    rows: dict[int, list[HealthRow]] = {}
    for row in describe_health(session=session, sources=sources, now=now):
        rows.setdefault(row.watch_id, []).append(row)
    return [
        WatchStatus(watch, tuple(rows.get(watch.id or 0, ())))
        for watch in list_watches(session=session)
    ]


def read_board(*, session: Session, sources: Mapping[str, Source], now: datetime) -> Board:
    """The queue, the watches, the day's numbers and the open notices."""
    queue, total = queued_cards(session=session, now=now)
    return Board(
        queue=tuple(queue),
        queue_total=total,
        watches=tuple(watch_statuses(session=session, sources=sources, now=now)),
        numbers=last_day(session=session, now=now),
        notices=tuple(open_notices(session=session)),
        slack=slack if (slack := slack_backlog(session=session, now=now)).flagged else None,
    )


def _page(items: Sequence[T], listing: HomeList, wanted: int, total: int) -> Page[T]:
    size = PAGE_SIZE[listing]
    pages = max(1, -(-len(items) // size))
    number = min(max(1, wanted), pages)
    start = (number - 1) * size
    return Page(tuple(items[start : start + size]), number, pages, max(total, len(items)))


def home_for(
    user_id: str,
    board: Board,
    mine: Sequence[HomeCard],
    *,
    pages: Mapping[HomeList, int],
    admins_configured: bool,
    flash: str | None = None,
) -> HomeData:
    """One person's Home from the shared board and their own cards, at the pages asked for."""
    return HomeData(
        user_id=user_id,
        mine=_page(mine, HomeList.MINE, pages.get(HomeList.MINE, 1), len(mine)),
        queue=_page(board.queue, HomeList.QUEUE, pages.get(HomeList.QUEUE, 1), board.queue_total),
        watches=_page(
            board.watches,
            HomeList.WATCHES,
            pages.get(HomeList.WATCHES, 1),
            len(board.watches),
        ),
        numbers=board.numbers,
        notices=board.notices,
        admins_configured=admins_configured,
        flash=flash,
        slack=board.slack,
    )


def encode_state(pages: Mapping[HomeList, int], fingerprint: str) -> str:
    """What is stored for a viewer: each list's page and the published view's fingerprint."""

    def page(listing: HomeList) -> int:
        return min(max(1, pages.get(listing, 1)), MAX_PAGE)

    return (
        f"m{page(HomeList.MINE)}.q{page(HomeList.QUEUE)}.w{page(HomeList.WATCHES)}:"
        + fingerprint[:FINGERPRINT_MAX_CHARS]
    )


def decode_pages(state: str | None) -> dict[HomeList, int]:
    """The pages a viewer was last shown (page 1 of each when unknown)."""
    found = _STATE.match(state or "")
    if found is None:
        return dict.fromkeys(HomeList, 1)
    mine, queue, watches = (int(n) for n in found.groups())
    return {HomeList.MINE: mine, HomeList.QUEUE: queue, HomeList.WATCHES: watches}


def read_page_turn(value: str) -> tuple[HomeList, int] | None:
    """A page button's value ("queue:2") as a list and a page; None when it isn't one."""
    name, _, number = value.partition(":")
    if name not in HomeList.__members__.values() or not number.isdigit():
        return None
    return HomeList(name), min(int(number), MAX_PAGE)


def _save_viewer(user_id: str, state: str | None, *, session: Session, now: datetime) -> None:
    """Record that `user_id` looked at their Home now, and what they were shown."""
    viewer = session.get(HomeViewer, user_id)
    if viewer is None:
        try:
            with session.begin_nested():  # the same person's second tab, at the same moment
                session.add(
                    HomeViewer(
                        user_id=user_id,
                        opened_at=now,
                        published_hash=state,
                        published_at=now if state else None,
                    )
                )
                session.flush()
            return
        except IntegrityError:
            pass
    session.execute(
        update(HomeViewer)
        .where(col(HomeViewer.user_id) == user_id)
        .values(opened_at=now, published_hash=state, published_at=now if state else None)
    )


def show_home(
    deps: Deps,
    user_id: str,
    *,
    turn: tuple[HomeList, int] | None = None,
    flash: str | None = None,
) -> HomeData:
    """Publish `user_id`'s Home now (they opened it or pressed one of its buttons).

    The lists stay on the pages the person last saw, but for the one `turn` moves.
    """
    now = deps.clock()
    with session_scope(deps.engine) as session:
        viewer = session.get(HomeViewer, user_id)
        pages = decode_pages(viewer.published_hash if viewer else None)
        board = read_board(session=session, sources=deps.sources, now=now)
        mine = my_cards(user_id, session=session, now=now)
    if turn is not None:
        pages[turn[0]] = turn[1]
    home = home_for(
        user_id,
        board,
        mine,
        pages=pages,
        admins_configured=bool(deps.settings.admins),
        flash=flash,
    )
    state = encode_state(home.pages, deps.chat.home_fingerprint(replace(home, flash=None)))
    # Stored before publishing, so a refresh running meanwhile sees it and doesn't publish the
    # same Home a second time.
    with session_scope(deps.engine) as session:
        _save_viewer(user_id, state, session=session, now=now)
    try:
        deps.chat.publish_home(user_id, home)
    except ChatError:
        with session_scope(deps.engine) as session:
            # Known as a viewer with nothing shown: the refresh job tries again.
            _save_viewer(user_id, None, session=session, now=now)
        raise
    return home


def _swap_state(user_id: str, old: str | None, new: str | None, *, engine: Engine) -> bool:
    """Replace a viewer's state if it is still `old`; True when this call did."""
    with session_scope(engine) as session:
        still = (
            col(HomeViewer.published_hash).is_(None)
            if old is None
            else col(HomeViewer.published_hash) == old
        )
        result = session.execute(
            update(HomeViewer)
            .where(col(HomeViewer.user_id) == user_id, still)
            .values(published_hash=new)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def recent_viewers(*, session: Session, now: datetime) -> list[HomeViewer]:
    """People who opened their Home lately, the longest without a publish first."""
    stmt = (
        select(HomeViewer)
        .where(col(HomeViewer.opened_at) >= now - RECENT_VIEWER)
        .order_by(col(HomeViewer.published_at).asc().nulls_first(), col(HomeViewer.user_id))
    )
    return list(session.exec(stmt))


def refresh_homes(deps: Deps, *, limit: int = HOME_PUBLISH_CAP) -> list[str]:
    """Re-publish the Home of recent viewers whose Home has changed; return who got one.

    Nobody who never opened the Home gets one. At most `limit` publishes per run; the people
    waiting longest go first, and a rate limit ends the run.
    """
    now = deps.clock()
    with session_scope(deps.engine) as session:
        viewers = recent_viewers(session=session, now=now)
        if not viewers:
            return []
        board = read_board(session=session, sources=deps.sources, now=now)
    published: list[str] = []
    for viewer in viewers:
        if len(published) >= limit:
            break
        with session_scope(deps.engine) as session:
            mine = my_cards(viewer.user_id, session=session, now=now)
        home = home_for(
            viewer.user_id,
            board,
            mine,
            pages=decode_pages(viewer.published_hash),
            admins_configured=bool(deps.settings.admins),
        )
        state = encode_state(home.pages, deps.chat.home_fingerprint(home))
        if state == viewer.published_hash:
            continue
        # Claim the change first: a second worker finds the state moved and leaves it.
        if not _swap_state(viewer.user_id, viewer.published_hash, state, engine=deps.engine):
            continue
        try:
            deps.chat.publish_home(viewer.user_id, home)
        except ChatError as exc:
            # Not shown after all: put the old state back so the next run tries again.
            _swap_state(viewer.user_id, state, viewer.published_hash, engine=deps.engine)
            if isinstance(exc, ChatRateLimited):
                log.warning("views.publish is rate limited; the Home refresh waits a run")
                break
            log.warning("the Home of %s was not refreshed: %s", viewer.user_id, exc.code)
            continue
        with session_scope(deps.engine) as session:
            session.execute(
                update(HomeViewer)
                .where(col(HomeViewer.user_id) == viewer.user_id)
                .values(published_at=now)
            )
        published.append(viewer.user_id)
    return published
