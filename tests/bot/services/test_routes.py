"""Routing rules: checked before they are stored, tried in order, applied when mentions arrive."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import func, select

from bot.services.pipeline import ingest_mentions
from bot.services.routes import RouteError, add_route, list_routes, remove_route
from bot.store.db import session_scope
from bot.store.models import Card, Route, Watch
from tests.factories import CHANNEL, NOW, make_fetched, make_watch

URGENT = "C0URGENT"
PRAISE = "C0PRAISE"
# The scoring reads these as they say: a negative P1 (a refund, charged twice) and a happy P4.
ANGRY = "Acme charged me twice this month and I want a refund."
HAPPY = "I love Acme, great product"


def route(engine: Engine, watch_id: int, channel: str = URGENT, **conditions: Any) -> Route:
    with session_scope(engine) as session:
        return add_route(watch_id, channel, by="UADMIN", session=session, now=NOW, **conditions)


def ingest(engine: Engine, watch: Watch, *texts: str) -> list[Card]:
    fetched = [make_fetched(external_id=str(i), text=t) for i, t in enumerate(texts, 1)]
    with session_scope(engine) as session:
        return ingest_mentions(fetched, watch=watch, authors={}, session=session, now=NOW)


def routes_stored(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(Route)).one())


def test_rules_are_stored_in_order_and_listed_per_watch(engine: Engine) -> None:
    acme, globex = make_watch(engine), make_watch(engine, query="globex")
    assert acme.id is not None and globex.id is not None

    first = route(engine, acme.id, priority_at_most=2)
    other = route(engine, globex.id, sentiment="negative")
    second = route(engine, acme.id, PRAISE, keyword="  love   it ")

    with session_scope(engine) as session:
        assert [r.id for r in list_routes(watch_id=acme.id, session=session)] == [
            first.id,
            second.id,
        ]
        assert len(list_routes(session=session)) == 3
    assert (first.position, second.position, other.position) == (1, 2, 1)
    assert second.keyword == "love it"


@pytest.mark.parametrize(
    ("watch_id", "channel", "conditions", "message"),
    [
        (99, URGENT, {"priority_at_most": 1}, "no watch with id 99"),
        (1, "#urgent", {"priority_at_most": 1}, "not a channel"),
        (1, URGENT, {"priority_at_most": 5}, "P1 to P4"),
        (1, URGENT, {"sentiment": "angry"}, "negative, neutral, positive"),
        (1, URGENT, {"reach_at_least": 0}, "from 1 to 100"),
        (1, URGENT, {"reach_at_least": 101}, "from 1 to 100"),
        (1, URGENT, {"keyword": "   "}, "keyword is empty"),
        (1, URGENT, {"keyword": "x" * 201}, "at most 200"),
        (1, URGENT, {}, "at least one condition"),
    ],
)
def test_a_bad_rule_is_refused_and_nothing_is_stored(
    engine: Engine, watch_id: int, channel: str, conditions: dict[str, Any], message: str
) -> None:
    make_watch(engine)

    with pytest.raises(RouteError, match=message):
        route(engine, watch_id, channel, **conditions)

    assert routes_stored(engine) == 0


def test_removing_a_rule_deletes_it_and_an_unknown_id_is_refused(engine: Engine) -> None:
    watch = make_watch(engine)
    assert watch.id is not None
    rule = route(engine, watch.id, priority_at_most=1)
    assert rule.id is not None

    with session_scope(engine) as session:
        removed = remove_route(rule.id, session=session)
    with session_scope(engine) as session, pytest.raises(RouteError, match="no routing rule"):
        remove_route(rule.id, session=session)

    assert removed.channel_id == URGENT
    assert routes_stored(engine) == 0


def test_a_negative_p1_mention_goes_to_the_matching_rules_channel(engine: Engine) -> None:
    watch = make_watch(engine)
    assert watch.id is not None
    rule = route(engine, watch.id, priority_at_most=1, sentiment="negative")

    angry, happy = ingest(engine, watch, ANGRY, HAPPY)

    assert angry.channel_id == URGENT
    assert angry.reason is not None
    assert angry.reason.endswith(f"routed by rule #{rule.id}: P1 or more urgent, negative")
    assert angry.reason.startswith(f"Matched watch #{watch.id} `acme`")
    assert happy.channel_id == CHANNEL
    assert happy.reason is not None and "routed" not in happy.reason


def test_the_first_matching_rule_by_position_wins(engine: Engine) -> None:
    watch = make_watch(engine)
    assert watch.id is not None
    first = route(engine, watch.id, URGENT, sentiment="negative")
    route(engine, watch.id, "C0REFUNDS", keyword="refund")
    route(engine, watch.id, PRAISE, sentiment="positive")

    angry, happy = ingest(engine, watch, ANGRY, HAPPY)

    assert angry.channel_id == URGENT
    assert angry.reason is not None and f"rule #{first.id}" in angry.reason
    assert happy.channel_id == PRAISE


def test_a_keyword_matches_whole_words_in_any_case_and_reach_needs_a_score(
    engine: Engine,
) -> None:
    watch = make_watch(engine)
    assert watch.id is not None
    route(engine, watch.id, "C0REACH", reach_at_least=90)  # the authors here are unscored
    route(engine, watch.id, "C0REFUNDS", keyword="REFUND")

    refund, refunded = ingest(engine, watch, ANGRY, "Acme refunded me in a day")

    assert refund.channel_id == "C0REFUNDS"
    assert refunded.channel_id == CHANNEL


def test_a_mention_another_watch_found_is_routed_by_this_watchs_rules(engine: Engine) -> None:
    first = make_watch(engine)
    second = make_watch(engine, query="refund", channel_id="C0BILLING")
    assert second.id is not None
    route(engine, second.id, URGENT, priority_at_most=2)

    (mine,) = ingest(engine, first, ANGRY)
    (routed,) = ingest(engine, second, ANGRY)
    again = ingest(engine, second, ANGRY)

    assert (mine.channel_id, routed.channel_id) == (CHANNEL, URGENT)
    assert routed.mention_id == mine.mention_id
    assert again == []  # already carded in the channel it would go to
