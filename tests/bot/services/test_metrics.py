"""/metrics' figures, read from the database, in a format Prometheus accepts."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import Engine

from bot.services.fetching import ensure_cursor
from bot.services.metrics import collect_metrics, render_prometheus
from bot.services.pipeline import ingest_mentions
from bot.store.db import session_scope
from bot.store.models import Card, CardState, Watch
from tests.factories import NOW, make_fetched, make_posted_card, make_watch

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(
    rf"^(?P<name>{_NAME})(?:\{{(?P<labels>(?:{_NAME}=\"(?:[^\"\\\n]|\\.)*\",?)*)\}})? "
    r"(?P<value>[-+]?(?:[0-9.]+(?:e[-+]?[0-9]+)?|Inf|NaN))$"
)
_LABEL = re.compile(rf"({_NAME})=\"((?:[^\"\\\n]|\\.)*)\"")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_exposition(text: str) -> tuple[dict[str, str], Samples]:
    """Parse the Prometheus text format strictly: every line a HELP, a TYPE or a sample of a
    family whose TYPE came first. Returns ({family: type}, {(name, labels): value})."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    samples: Samples = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            assert re.match(rf"^# HELP {_NAME} \S", line), line
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in {"counter", "gauge", "summary", "histogram", "untyped"}, line
            assert name not in types, f"{name} typed twice"
            types[name] = kind
        else:
            match = _SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            name = match["name"]
            family = re.sub(r"_(sum|count)$", "", name) if name not in types else name
            assert family in types, f"{name} sampled before its TYPE"
            labels = frozenset(_LABEL.findall(match["labels"] or ""))
            assert (name, labels) not in samples, f"{line!r} repeated"
            samples[(name, labels)] = float(match["value"])
    return types, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def scrape(engine: Engine, now: object = NOW) -> tuple[dict[str, str], Samples]:
    with session_scope(engine) as session:
        text = render_prometheus(collect_metrics(session=session, now=now))  # type: ignore[arg-type]
    return parse_exposition(text)


def queue(engine: Engine, watch: Watch, external_id: str, *, minutes_ago: int) -> int:
    with session_scope(engine) as session:
        (card,) = ingest_mentions(
            [make_fetched(external_id=external_id)],
            watch=watch,
            authors={},
            session=session,
            now=NOW - timedelta(minutes=minutes_ago),
        )
    assert card.id is not None
    return card.id


def test_an_empty_database_gives_zero_queue_and_every_family_typed(engine: Engine) -> None:
    types, samples = scrape(engine)

    assert types["overheard_queue_depth"] == "gauge"
    assert types["overheard_post_latency_seconds"] == "summary"
    assert types["overheard_mentions_stored_total"] == "counter"
    assert value(samples, "overheard_queue_depth") == 0
    assert value(samples, "overheard_oldest_queued_card_age_seconds") == 0
    assert value(samples, "overheard_post_latency_seconds_count") == 0


def test_queue_depth_and_oldest_age_count_the_cards_waiting_to_be_posted(engine: Engine) -> None:
    watch = make_watch(engine)
    queue(engine, watch, "1", minutes_ago=30)
    queue(engine, watch, "2", minutes_ago=5)
    make_posted_card(engine, external_id="3")

    _, samples = scrape(engine)

    assert value(samples, "overheard_queue_depth") == 2
    assert value(samples, "overheard_cards", state="queued") == 2
    assert value(samples, "overheard_cards", state="posted") == 1
    assert value(samples, "overheard_oldest_queued_card_age_seconds") == 30 * 60
    assert value(samples, "overheard_mentions_stored_total", network="hackernews") == 3


def test_post_latency_is_the_wait_from_queued_to_posted_of_recent_cards(engine: Engine) -> None:
    watch = make_watch(engine)
    waits_s = [2, 4, 60]
    for n, wait_s in enumerate(waits_s):
        card_id = queue(engine, watch, str(n), minutes_ago=10)
        with session_scope(engine) as session:
            card = session.get(Card, card_id)
            assert card is not None
            card.state = CardState.POSTED
            card.posted_at = card.queued_at + timedelta(seconds=wait_s)
            session.add(card)

    _, recent = scrape(engine)
    _, later = scrape(engine, NOW + timedelta(hours=2))

    assert value(recent, "overheard_post_latency_seconds", quantile="0.5") == 4
    assert value(recent, "overheard_post_latency_seconds_count") == 3
    assert value(recent, "overheard_post_latency_seconds_sum") == sum(waits_s)
    assert value(later, "overheard_post_latency_seconds_count") == 0


def test_fetch_failures_and_slack_429s_are_reported(engine: Engine) -> None:
    healthy, failing = make_watch(engine), make_watch(engine, query="other")
    with session_scope(engine) as session:
        for watch, failures in ((healthy, 0), (failing, 3)):
            stored = session.get(Watch, watch.id)
            assert stored is not None
            cursor = ensure_cursor(stored, "hackernews", session=session)
            cursor.last_attempt_at = NOW
            cursor.last_success_at = NOW - timedelta(hours=failures)
            cursor.failures = failures
            session.add(cursor)
    limited = queue(engine, healthy, "9", minutes_ago=1)
    with session_scope(engine) as session:
        card = session.get(Card, limited)
        assert card is not None
        card.last_post_error = "ratelimited"
        session.add(card)

    _, samples = scrape(engine)

    assert value(samples, "overheard_fetch_cursors", network="hackernews", state="ok") == 1
    assert value(samples, "overheard_fetch_cursors", network="hackernews", state="failing") == 1
    assert value(samples, "overheard_fetch_consecutive_failures", network="hackernews") == 3
    assert (
        value(samples, "overheard_fetch_last_success_timestamp_seconds", network="hackernews")
        == NOW.timestamp()
    )
    assert value(samples, "overheard_cards_rate_limited") == 1


def test_label_values_are_escaped() -> None:
    from bot.services.metrics import Metric

    text = render_prometheus([Metric("m", "gauge", "help", [({"network": 'a"b\\c\nd'}, 1.5)])])

    _, samples = parse_exposition(text)
    assert value(samples, "m", network='a\\"b\\\\c\\nd') == 1.5
