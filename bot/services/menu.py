"""The card menu: what it offers in each state, and the choices that change a card.

Every choice checks that it comes from the card's own channel, as the buttons do; state is
read back from the database, never taken from Slack.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from bot.services.cards import (
    NotAllowed,
    SnoozePeriod,
    card_watch_id,
    close_card,
    load_card_in,
    resolve_with_note,
    show_change,
    snooze_card,
)
from bot.services.chat import CardView, ChatBackend
from bot.services.mutes import find_mute
from bot.services.watches import (
    WatchError,
    exclude_from_watch,
    exclusion_for_author,
    exclusion_for_word,
)
from bot.store.db import session_scope
from bot.store.models import CardState, EventKind, MutedAuthor, Watch

NOT_RELEVANT_NOTE = "Not relevant"


class MenuChoice(enum.StrEnum):
    """One entry of a card's menu."""

    REOPEN = "reopen"
    RESOLVE_WITH_NOTE = "note"
    SNOOZE = "snooze"
    NOT_RELEVANT = "not_relevant"
    SENTIMENT = "sentiment"
    AUTHOR = "author"  # the author's reach, with a way to mute them on the card's watch


def menu_choices(state: CardState, *, has_author: bool) -> list[MenuChoice]:
    """What a card's menu offers in `state`: only what can be done to it now."""
    if state in (CardState.QUEUED, CardState.POSTED, CardState.CLAIMED):
        card = [MenuChoice.RESOLVE_WITH_NOTE, MenuChoice.SNOOZE, MenuChoice.NOT_RELEVANT]
    else:  # resolved, dismissed or snoozed
        card = [MenuChoice.REOPEN]
    return [*card, MenuChoice.SENTIMENT, *([MenuChoice.AUTHOR] if has_author else [])]


@dataclass(frozen=True)
class MenuContext:
    """What a menu choice's modal or reply shows about the card."""

    view: CardView
    watch: Watch | None
    author_exclusion: str | None  # `-author:handle`, when the query language can name them
    mute: MutedAuthor | None  # the author's mute on the card's watch, if they are muted


@dataclass(frozen=True)
class NotRelevant:
    """A card dismissed as not relevant, and what its watch now leaves out."""

    view: CardView
    watch: Watch | None
    added: list[str]


def open_menu_choice(
    card_id: int, choice: MenuChoice, *, channel_id: str, session: Session
) -> MenuContext:
    """Read what a menu choice needs, refusing one the card's state no longer allows."""
    view = load_card_in(card_id, channel_id, session=session)
    if choice not in menu_choices(CardState(view.card.state), has_author=view.author is not None):
        raise NotAllowed(f"This mention is {view.card.state}: that choice no longer applies.")
    watch_id = card_watch_id(view)
    watch = session.get(Watch, watch_id) if watch_id is not None else None
    author = view.author
    exclusion = exclusion_for_author(author.handle) if author is not None else None
    mute = (
        find_mute(author.id, watch.id, session=session)
        if author is not None and author.id is not None and watch is not None and watch.id
        else None
    )
    return MenuContext(view, watch, exclusion, mute)


def snooze(
    chat: ChatBackend,
    card_id: int,
    period: SnoozePeriod,
    user_id: str,
    *,
    channel_id: str,
    engine: Engine,
    now: datetime,
) -> CardView:
    """Snooze an open card, update it in Slack and say so in its thread."""
    with session_scope(engine) as session:
        load_card_in(card_id, channel_id, session=session)
        view = snooze_card(card_id, user_id, period, session=session, now=now)
    show_change(chat, view, EventKind.SNOOZED, user_id, engine=engine)
    return view


def resolve_noted(
    chat: ChatBackend,
    card_id: int,
    note: str,
    user_id: str,
    *,
    channel_id: str,
    engine: Engine,
    now: datetime,
) -> CardView:
    """Resolve an open card with a note, update it in Slack and say so in its thread."""
    with session_scope(engine) as session:
        load_card_in(card_id, channel_id, session=session)
        view = resolve_with_note(card_id, user_id, note, session=session, now=now)
    show_change(chat, view, EventKind.RESOLVED, user_id, engine=engine)
    return view


def dismiss_not_relevant(
    chat: ChatBackend,
    card_id: int,
    user_id: str,
    *,
    word: str,
    exclude_author: bool,
    channel_id: str,
    engine: Engine,
    now: datetime,
) -> NotRelevant:
    """Dismiss an open card as not relevant, first excluding a word or its author from its watch.

    Both happen in one transaction: a card that can't be dismissed leaves the watch as it was.
    """
    exclusions = [token for token in [exclusion_for_word(word)] if token is not None]
    with session_scope(engine) as session:
        view = load_card_in(card_id, channel_id, session=session)
        if exclude_author:
            author = exclusion_for_author(view.author.handle) if view.author else None
            if author is None:
                raise WatchError("This author's name can't be written as an exclusion.")
            exclusions.append(author)
        watch_id = card_watch_id(view)
        added: list[str] = []
        if exclusions:
            if watch_id is None:
                raise WatchError("The watch that found this mention was removed.")
            _, added = exclude_from_watch(
                watch_id, exclusions, actor=user_id, card_id=card_id, session=session, now=now
            )
        note = NOT_RELEVANT_NOTE
        if added:
            note += f"; watch #{watch_id} now excludes {' '.join(added)}"
        view = close_card(
            card_id, user_id, CardState.DISMISSED, session=session, now=now, note=note
        )
        watch = session.get(Watch, watch_id) if watch_id is not None else None
    show_change(chat, view, EventKind.DISMISSED, user_id, engine=engine)
    return NotRelevant(view, watch, added)
