"""Benchmark: 500 signed Claim/Resolve clicks from 100 concurrent clients at `overheard serve`.

Target (issue 12): every click answered within 3 s, no connection reset. The server is the
production one (`overheard serve`, gunicorn) in its own process, on a free loopback port,
over a SQLite database holding 250 posted cards; its Slack is a loopback fake. Each client
opens a fresh connection per click, as Slack does, and signs it as Slack does. Prints the
answers, the median and slowest answer and the resets, and records them in
`bench/results.json`.

    python -m bench.clicks
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier
from sqlmodel import select

from bench._results import record
from bot.config import Settings
from bot.services.deps import Deps
from bot.services.pipeline import ingest_mentions
from bot.services.poster import Poster
from bot.slack import ids
from bot.slack.chat import SlackChat
from bot.slack.clients import poster_client
from bot.sources.base import FetchedAuthor, FetchedMention
from bot.store import migrate
from bot.store.db import make_engine, session_scope
from bot.store.models import Card, Watch
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack
from tests.fakes.slack_app import block_actions_payload

CARDS = 250
CLICKS = 500  # a Claim and a Resolve on each card, in shuffled order
CLIENTS = 100
TARGET_S = 3.0
CLIENT_TIMEOUT_S = 30.0
START_TIMEOUT_S = 60.0
SECRET = "bench-signing-secret"  # noqa: S105  (the fake's, for this run only)
CHANNEL = "C0SUPPORT"
ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.now(UTC)
# What a reset looks like from a client: the server dropped or refused the connection.
RESETS = (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine)


@dataclass
class Tally:
    """What the clients saw, shared between their threads."""

    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    resets: int = 0
    timeouts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _posted_cards(database_url: str, fake: FakeSlack, count: int) -> list[int]:
    """Store `count` mentions and post their cards to the fake, as the worker would."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=TEST_TOKEN,
        SLACK_API_URL=fake.base_url,
        OVERHEARD_POST_INTERVAL_S=0,
    )
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        watch = Watch(query="acme", sources=["hackernews"], channel_id=CHANNEL, created_at=NOW)
        session.add(watch)
        session.flush()
        fetched = [
            FetchedMention(
                network="hackernews",
                external_id=str(50_000_000 + i),
                url=f"https://news.ycombinator.com/item?id={50_000_000 + i}",
                text=f"Acme support answered ticket {i} in minutes, impressive.",
                created_at=NOW - timedelta(minutes=i),
                author=FetchedAuthor(handle=f"user{i % 40}"),
                conversation_id=str(60_000_000 + i),  # one conversation each: top-level cards
            )
            for i in range(count)
        ]
        ingest_mentions(fetched, watch=watch, authors={}, session=session, now=NOW)
    deps = Deps(settings, engine, SlackChat(poster_client(settings)), {}, pace_posts=False)
    poster = Poster(deps)
    while poster.post_pending(limit=count).posted:
        pass
    with session_scope(engine) as session:
        posted = list(session.exec(select(Card.id).where(Card.state == "posted")).all())
    engine.dispose()
    if len(posted) != count:
        raise SystemExit(f"bench clicks: only {len(posted)} of {count} cards posted")
    return [card_id for card_id in posted if card_id is not None]


def _click_body(card_id: int, action_id: str, user: str, response_url: str) -> str:
    button = {"action_id": action_id, "value": str(card_id), "type": "button"}
    payload = block_actions_payload(
        button, user=user, channel=CHANNEL, message_ts="1.0", response_url=response_url
    )
    return urlencode({"payload": json.dumps(payload)})


def _click(port: int, body: str, tally: Tally) -> None:
    """Send one signed click on a fresh connection; note its status and latency, or a reset."""
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    data = body.encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": str(len(data)),
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S)
    try:
        conn.request("POST", "/slack/events", body=data, headers=headers)
        response = conn.getresponse()
        response.read()
        status = response.status
    except TimeoutError:
        with tally.lock:
            tally.timeouts += 1
        return
    except RESETS:
        with tally.lock:
            tally.resets += 1
        return
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    with tally.lock:
        tally.latencies_s.append(elapsed)
        tally.statuses[status] += 1


def _fire(port: int, bodies: list[str]) -> tuple[Tally, float]:
    """Send `bodies` from CLIENTS threads at once, each click after the previous answer."""
    tally = Tally()
    start = threading.Barrier(CLIENTS)

    def client(mine: list[str]) -> None:
        start.wait()
        for body in mine:
            _click(port, body, tally)

    threads = [
        threading.Thread(target=client, args=(bodies[i::CLIENTS],), daemon=True)
        for i in range(CLIENTS)
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.perf_counter() - began


def _wait_healthy(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"bench clicks: overheard serve exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("bench clicks: overheard serve did not start")


def main() -> None:
    """Run the benchmark and print its figures."""
    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as fake:
        database_url = f"sqlite:///{Path(tmp) / 'clicks.db'}"
        card_ids = _posted_cards(database_url, fake, CARDS)
        rng = random.Random(12)
        clicks = [(card_id, ids.CLAIM) for card_id in card_ids]
        clicks += [(card_id, ids.RESOLVE) for card_id in card_ids]
        rng.shuffle(clicks)
        bodies = [
            _click_body(card_id, action, f"U{n % 20:07d}", fake.response_url("click"))
            for n, (card_id, action) in enumerate(clicks[:CLICKS])
        ]
        port = _free_port()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": TEST_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.base_url,
            "OVERHEARD_LOG_LEVEL": "WARNING",
        }
        log_path = Path(tmp) / "serve.log"
        with log_path.open("wb") as log:
            server = subprocess.Popen(  # noqa: S603  (our own command line)
                [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                cwd=tmp,  # no .env of the developer's leaks in
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_healthy(port, server)
                tally, wall_s = _fire(port, bodies)
                time.sleep(1.0)  # the listeners finish after the ack
            finally:
                server.terminate()
                server.wait(timeout=30)
        engine = make_engine(database_url)
        with session_scope(engine) as session:
            states = Counter(session.exec(select(Card.state)).all())
        engine.dispose()
        updates = len(fake.calls_to("chat.update"))

    answered = len(tally.latencies_s)
    max_s = max(tally.latencies_s, default=float("inf"))
    median_s = statistics.median(tally.latencies_s) if tally.latencies_s else float("inf")
    ok = tally.statuses.get(200, 0)
    met = ok == CLICKS and max_s < TARGET_S and tally.resets == 0
    print(
        f"clicks: {CLICKS} signed Claim/Resolve clicks from {CLIENTS} concurrent clients, "
        f"{CARDS} cards, overheard serve (gunicorn) on loopback, SQLite"
    )
    print(
        f"  answered {answered} ({ok} with 200) in {wall_s:.1f} s; median {median_s:.3f} s, "
        f"slowest {max_s:.3f} s; resets {tally.resets}, timeouts {tally.timeouts}"
    )
    print(f"  cards afterwards: {dict(states)}; chat.update calls {updates}")
    print(f"  target every answer < {TARGET_S:.0f} s, no reset: {'met' if met else 'MISSED'}")
    sys.stdout.flush()
    record(
        "clicks",
        {
            "clicks": CLICKS,
            "clients": CLIENTS,
            "cards": CARDS,
            "database": "sqlite",
            "answered": answered,
            "answered_200": ok,
            "clicks_500_max_s": round(max_s, 3),
            "clicks_500_median_s": round(median_s, 3),
            "resets": tally.resets,
            "timeouts": tally.timeouts,
            "wall_s": round(wall_s, 2),
            "target_s": TARGET_S,
            "target_met": met,
        },
    )


if __name__ == "__main__":
    main()
