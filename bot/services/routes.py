"""Routing rules: some of a watch's mentions go to another channel, by priority, sentiment,
reach or keyword; the first matching rule (by position, then id) wins."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.services.watches import CHANNEL_ID
from bot.store.models import Route, Watch

PRIORITIES = (1, 2, 3, 4)
SENTIMENTS = ("negative", "neutral", "positive")
REACH_MIN, REACH_MAX = 1, 100
KEYWORD_MAX_CHARS = 200


class RouteError(ValueError):
    """A rule that can't be saved or found; the message says what to fix."""


def add_route(
    watch_id: int,
    channel_id: str,
    *,
    priority_at_most: int | None = None,
    sentiment: str | None = None,
    reach_at_least: int | None = None,
    keyword: str | None = None,
    by: str,
    session: Session,
    now: datetime,
) -> Route:
    """Check and save a rule after the watch's others; raise RouteError and write nothing."""
    if session.get(Watch, watch_id) is None:
        raise RouteError(f"no watch with id {watch_id}")
    if not CHANNEL_ID.match(channel_id):
        raise RouteError(
            f"{channel_id!r} is not a channel: name one like #support (or its ID, C0123ABCD)"
        )
    if priority_at_most is not None and priority_at_most not in PRIORITIES:
        raise RouteError(f"priorities are P1 to P4, not P{priority_at_most}")
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise RouteError(f"sentiment is one of {', '.join(SENTIMENTS)}, not {sentiment!r}")
    if reach_at_least is not None and not REACH_MIN <= reach_at_least <= REACH_MAX:
        raise RouteError(f"reach is from {REACH_MIN} to {REACH_MAX}")
    if keyword is not None:
        keyword = " ".join(keyword.split())
        if not keyword:
            raise RouteError("the keyword is empty")
        if len(keyword) > KEYWORD_MAX_CHARS:
            raise RouteError(f"a keyword is at most {KEYWORD_MAX_CHARS} characters")
    if (priority_at_most, sentiment, reach_at_least, keyword) == (None, None, None, None):
        raise RouteError(
            "a rule needs at least one condition: --priority, --sentiment, --reach or --keyword"
        )
    last = session.exec(
        select(func.max(Route.position)).where(col(Route.watch_id) == watch_id)
    ).one()
    route = Route(
        watch_id=watch_id,
        channel_id=channel_id,
        position=(last or 0) + 1,
        priority_at_most=priority_at_most,
        sentiment=sentiment,
        reach_at_least=reach_at_least,
        keyword=keyword,
        created_by=by,
        created_at=now,
    )
    session.add(route)
    session.flush()
    return route


def list_routes(*, session: Session, watch_id: int | None = None) -> list[Route]:
    """Rules in the order they are tried: by watch, then position, then id."""
    stmt = select(Route).order_by(col(Route.watch_id), col(Route.position), col(Route.id))
    if watch_id is not None:
        stmt = stmt.where(col(Route.watch_id) == watch_id)
    return list(session.exec(stmt))


def remove_route(route_id: int, *, session: Session) -> Route:
    """Delete a rule; the cards it already sent stay where they are."""
    route = session.get(Route, route_id)
    if route is None:
        raise RouteError(f"no routing rule with id {route_id}")
    session.delete(route)
    session.flush()
    return route


def route_matches(
    route: Route, *, priority: int | None, sentiment: str | None, reach: int | None, text: str
) -> bool:
    """True when every condition the rule sets holds for a mention."""
    if route.priority_at_most is not None and (
        priority is None or priority > route.priority_at_most
    ):
        return False
    if route.sentiment is not None and sentiment != route.sentiment:
        return False
    if route.reach_at_least is not None and (reach is None or reach < route.reach_at_least):
        return False
    return route.keyword is None or _has_words(text, route.keyword)


def first_match(
    routes: Sequence[Route],
    *,
    priority: int | None,
    sentiment: str | None,
    reach: int | None,
    text: str,
) -> Route | None:
    """The first rule (by position, then id) a mention matches, or None."""
    ordered = sorted(routes, key=lambda r: (r.position, r.id or 0))
    return next(
        (
            r
            for r in ordered
            if route_matches(r, priority=priority, sentiment=sentiment, reach=reach, text=text)
        ),
        None,
    )


def describe_conditions(route: Route) -> str:
    """The rule's conditions for people: "P1 or more urgent, negative, reach ≥ 50"."""
    parts = []
    if route.priority_at_most is not None:
        parts.append(f"P{route.priority_at_most} or more urgent")
    if route.sentiment is not None:
        parts.append(route.sentiment)
    if route.reach_at_least is not None:
        parts.append(f"reach ≥ {route.reach_at_least}")
    if route.keyword is not None:
        parts.append(f"“{route.keyword}”")
    return ", ".join(parts)


def _has_words(text: str, keyword: str) -> bool:
    """True when `keyword` (a word or phrase) appears in `text` as whole words, in any case."""
    words = [re.escape(w) for w in keyword.split()]
    pattern = r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None
