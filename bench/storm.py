"""Benchmark: a storm of 5,000 mentions posted by two poster workers at Slack's pace.

Target (issue 12): no 429 at all, the first card within 2 s, P1 cards first. 5,000 cards wait
in the outbox, spread over CHANNELS channels, 1 in 20 of them P1 (the youngest, so age alone
would post them last). Two `Poster`s, each on its own thread with its own Slack client, drain
it into a loopback FakeSlack that answers 429 to a message reaching a channel too soon after
the one before. Time is scaled: Slack's one message per second per channel is played as one
per SECOND_S, the fake refuses a gap under GAP_SHARE of it (Slack tolerates short bursts; the
fake only a quarter of a second of scheduling jitter), and the posters pace themselves at
SECOND_S. The database is SQLite (WAL) in a temporary directory, shared by both workers.

    python -m bench.storm
"""

from __future__ import annotations

import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from slack_sdk import WebClient
from sqlalchemy import insert, select

from bench._results import record
from bot.config import Settings
from bot.services.deps import Deps
from bot.services.poster import Poster
from bot.slack.chat import SlackChat
from bot.store import migrate
from bot.store.db import make_engine, session_scope
from bot.store.models import Card, CardState, Mention
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

CARDS = 5_000
CHANNELS = ("C0STORM1", "C0STORM2", "C0STORM3", "C0STORM4", "C0STORM5")
P1_EVERY = 20
WORKERS = 2
SECOND_S = 0.1  # Slack's second, scaled
GAP_SHARE = 0.75
FIRST_CARD_TARGET_S = 2.0
TIMEOUT_S = 600.0


def _queue(engine_url: str) -> None:
    """Put CARDS cards in the outbox, P1 ones the youngest."""
    engine = make_engine(engine_url)
    migrate.upgrade(engine)
    start = datetime.now(UTC) - timedelta(minutes=5)  # all arrived in the last 5 minutes
    mentions = [
        {
            "id": n + 1,
            "network": "hackernews",
            "external_id": str(n),
            "url": f"https://news.ycombinator.com/item?id={n}",
            "text": f"acme storm mention {n}",
            "created_at": start + timedelta(milliseconds=50 * n),
            "fetched_at": start + timedelta(milliseconds=50 * n),
            # Every P1_EVERY-th card of each channel, the youngest first.
            "priority": 1 if (n // len(CHANNELS)) % P1_EVERY == P1_EVERY - 1 else 3,
            "priority_reasons": [],
        }
        for n in range(CARDS)
    ]
    cards = [
        {
            "mention_id": n + 1,
            "channel_id": CHANNELS[n % len(CHANNELS)],
            "state": CardState.QUEUED,
            "queued_at": start + timedelta(milliseconds=50 * n),
        }
        for n in range(CARDS)
    ]
    with session_scope(engine) as session:
        session.execute(insert(Mention), mentions)
        session.execute(insert(Card), cards)
    engine.dispose()


def _drain(poster: Poster, done: threading.Event) -> None:
    while not done.is_set():
        report = poster.post_pending()
        if not report.posted:
            time.sleep(SECOND_S)


def main() -> None:
    """Run the storm and record `storm` in bench/results.json."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'storm.db'}"
        _queue(url)
        engine = make_engine(url)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            DATABASE_URL=url,
            OVERHEARD_POST_INTERVAL_S=SECOND_S,
        )
        with FakeSlack(token=TEST_TOKEN, channel_gap_s=SECOND_S * GAP_SHARE) as fake:
            posters = [
                Poster(
                    Deps(
                        settings,
                        engine,
                        SlackChat(WebClient(token=TEST_TOKEN, base_url=fake.base_url)),
                        {},
                    )
                )
                for _ in range(WORKERS)
            ]
            done = threading.Event()
            threads = [threading.Thread(target=_drain, args=(p, done)) for p in posters]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            first_card_s = None
            while time.monotonic() - started < TIMEOUT_S:
                posted = sum(fake.message_count(c) for c in CHANNELS)
                if posted and first_card_s is None:
                    first_card_s = time.monotonic() - started
                if posted >= CARDS:
                    break
                time.sleep(0.01)
            total_s = time.monotonic() - started
            done.set()
            for thread in threads:
                thread.join()
            messages = {c: fake.messages(c) for c in CHANNELS}
            rate_limited = len(fake.rate_limited)
        with session_scope(engine) as session:
            p1 = {
                str(mention_id)
                for (mention_id,) in session.execute(
                    select(Card.id).join(Mention).where(Mention.priority == 1)
                )
            }
            left = session.execute(select(Card.id).where(Card.state == CardState.QUEUED)).all()
        engine.dispose()
    posted = sum(len(m) for m in messages.values())
    # In each channel, its P1 cards are its first messages.
    p1_first = all(
        {str(m["metadata"]["event_payload"]["card_id"]) for m in ms[: len(p1) // len(CHANNELS)]}
        == {str(m["metadata"]["event_payload"]["card_id"]) for m in ms} & p1
        for ms in messages.values()
    )
    figures = {
        "storm_cards": CARDS,
        "storm_channels": len(CHANNELS),
        "storm_workers": WORKERS,
        "storm_slack_second_s": SECOND_S,
        "storm_429s": rate_limited,
        "storm_first_card_s": round(first_card_s or -1.0, 3),
        "storm_total_s": round(total_s, 1),
        "storm_total_in_slack_seconds": round(total_s / SECOND_S),
        "storm_posted": posted,
        "storm_left_queued": len(left),
        "storm_p1_first": p1_first,
    }
    for name, value in figures.items():
        print(f"{name}: {value}")
    ok = rate_limited == 0 and (first_card_s or 99) <= FIRST_CARD_TARGET_S and p1_first
    print("target met" if ok and posted == CARDS else "TARGET MISSED")
    record("storm", figures)


if __name__ == "__main__":
    main()
