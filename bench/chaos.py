"""Kill -9 a worker at random while mentions flow, then restart it: is every one posted once?

A loopback Hacker News (Algolia's shape) lets mentions appear over time, several to a story
so most cards go in a thread; a loopback fake Slack keeps every message it accepted. A
worker process (fetching and posting, as `overheard worker` does, on a fast tick) is
started, killed with SIGKILL after a random while, started again, `kills` times; then one
last worker runs until every mention is in Slack, and is stopped with SIGTERM.

    python -m bench.chaos                  # 1,000 mentions, 20 kills, SQLite
    python -m bench.chaos --mentions 120 --kills 12 --database-url postgresql+psycopg://…

It prints and records (bench/results.json) `chaos_lost` (mentions never posted) and
`chaos_doubled` (extra copies of a card in Slack); both should be 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from sqlmodel import col, select

from bot.store import migrate
from bot.store.db import make_engine, session_scope
from bot.store.models import Card, Mention, SourceCursor, Watch
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

ROOT = Path(__file__).resolve().parents[1]
CHANNEL = "C0CHAOS"
MENTIONS_PER_STORY = 4
SPACING_S = 10
# How long the mentions take to appear, and how long each killed worker may live.
FLOW_S_PER_MENTION = 0.05
LIFE_S = (1.0, 5.0)
TICK_S = 0.2
# The last worker's time to post everything: the dead workers' leases (30 s) run out first.
FINISH_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ChaosResult:
    """What a chaos run ended with."""

    mentions: int
    kills: int
    lost: int  # mentions with no card in Slack
    doubled: int  # copies of a card in Slack beyond the first
    finish_s: float  # how long the last worker took to post what was left
    leases_left: int  # fetch leases the last worker still held after its SIGTERM
    stopped_cleanly: bool  # the last worker exited 0 on SIGTERM (not killed by it)


class FakeAlgolia(ThreadingHTTPServer):
    """`/api/v1/search_by_date` and `/api/v1/users/<name>`, mentions appearing over time."""

    daemon_threads = True

    def __init__(self, count: int, flow_s: float) -> None:
        super().__init__(("127.0.0.1", 0), _AlgoliaHandler)
        self.count = count
        self.flow_s = flow_s
        self.started = time.monotonic()
        # Within the source's first look-back (24 h), SPACING_S apart: its 10-minute overlap
        # re-reads a few dozen known mentions each time, as it would on a busy brand.
        self.base = int(time.time()) - 20 * 3600

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def visible(self) -> int:
        elapsed = time.monotonic() - self.started
        return min(self.count, int(self.count * elapsed / self.flow_s) + 1)

    def hit(self, n: int) -> dict[str, Any]:
        story = 1_000_000 + n // MENTIONS_PER_STORY
        at = self.base + n * SPACING_S
        return {
            "objectID": str(2_000_000 + n),
            "created_at": datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z"),
            "created_at_i": at,
            "author": f"user{n % 37}",
            "comment_text": f"Acme support question number {n}: my invoice looks wrong.",
            "story_id": story,
            "parent_id": story,
            "story_title": f"Ask HN: Acme billing, thread {story}",
            "_tags": ["comment", f"author_user{n % 37}", f"story_{story}"],
        }


class _AlgoliaHandler(BaseHTTPRequestHandler):
    server: FakeAlgolia

    def do_GET(self) -> None:
        url = urlparse(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/api/v1/search_by_date":
            body = self._search(params)
        elif url.path.startswith("/api/v1/users/"):
            body = {"username": url.path.rsplit("/", 1)[-1], "karma": 4200}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _search(self, params: dict[str, str]) -> dict[str, Any]:
        since = int(params.get("numericFilters", "created_at_i>0").partition(">")[2])
        hits = [self.server.hit(n) for n in range(self.server.visible())]
        hits = [h for h in reversed(hits) if h["created_at_i"] > since]  # newest first
        page, size = int(params.get("page", "0")), int(params.get("hitsPerPage", "20"))
        return {
            "hits": hits[page * size : (page + 1) * size],
            "nbHits": len(hits),
            "nbPages": max(1, -(-len(hits) // size)),
            "page": page,
            "hitsPerPage": size,
        }

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except ConnectionResetError:  # the worker was killed mid-request: as planned
            self.close_connection = True


def _prepare(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        with session_scope(engine) as session:
            session.add(
                Watch(
                    query="acme",
                    sources=["hackernews"],
                    channel_id=CHANNEL,
                    interval_s=1,
                    created_at=datetime.now(UTC),
                )
            )
    finally:
        engine.dispose()


def _spawn(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.chaos", "--worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _cards_in_slack(fake: FakeSlack) -> Counter[int]:
    """How many times each card is in the channel or a thread."""
    seen: Counter[int] = Counter()
    top = fake.messages(CHANNEL)
    # By ts: a reply broadcast to the channel is one message shown in two places.
    messages = {m["ts"]: m for m in top}
    for message in top:
        messages.update((m["ts"], m) for m in fake.thread(CHANNEL, message["ts"]))
    for message in messages.values():
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == "overheard_card":
            seen[int(metadata["event_payload"]["card_id"])] += 1
    return seen


def _tally(database_url: str, fake: FakeSlack, count: int) -> tuple[int, int]:
    """(lost, doubled): mentions with no card in Slack, and extra copies of cards."""
    seen = _cards_in_slack(fake)
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            rows = session.exec(select(Card.id, Mention.external_id).join(Mention)).all()
    finally:
        engine.dispose()
    cards_of: Counter[str] = Counter()
    for card_id, external_id in rows:
        if card_id is not None and seen[card_id]:
            cards_of[external_id] += 1
    lost = count - len(cards_of)
    doubled = sum(n - 1 for n in seen.values()) + sum(n - 1 for n in cards_of.values())
    return lost, doubled


def run_chaos(
    *, mentions: int, kills: int, database_url: str | None = None, seed: int = 12
) -> ChaosResult:
    """Run the chaos scenario and count what was lost or posted twice."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp, FakeSlack(token=TEST_TOKEN) as fake:
        url = database_url or f"sqlite:///{Path(tmp) / 'chaos.db'}"
        _prepare(url)
        network = FakeAlgolia(mentions, flow_s=mentions * FLOW_S_PER_MENTION)
        threading.Thread(target=network.serve_forever, daemon=True).start()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": TEST_TOKEN,
            "SLACK_API_URL": fake.base_url,
            "OVERHEARD_HACKERNEWS_URL": network.url,
            "OVERHEARD_ALLOW_PRIVATE_URLS": "true",
            "OVERHEARD_POST_INTERVAL_S": "0",
        }
        try:
            for _ in range(kills):
                worker = _spawn(env)
                time.sleep(rng.uniform(*LIFE_S))
                worker.send_signal(signal.SIGKILL)
                worker.wait()
            started = time.monotonic()
            worker = _spawn(env)
            try:
                while time.monotonic() - started < FINISH_TIMEOUT_S:
                    if len(_cards_in_slack(fake)) >= mentions and network.visible() == mentions:
                        break
                    time.sleep(0.5)
                finish_s = time.monotonic() - started
                time.sleep(1.0)  # anything still on its way would show up as doubled
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=90)
        finally:
            network.shutdown()
            network.server_close()
        lost, doubled = _tally(url, fake, mentions)
        leases_left = _held_leases(url, owner=f"{socket.gethostname()}:{worker.pid}")
    return ChaosResult(
        mentions, kills, lost, doubled, round(finish_s, 1), leases_left, worker.returncode == 0
    )


def _held_leases(database_url: str, *, owner: str) -> int:
    """How many fetch leases `owner` (a worker id: host and pid) holds."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            held = select(SourceCursor).where(col(SourceCursor.lease_owner) == owner)
            return len(session.exec(held).all())
    finally:
        engine.dispose()


def run_worker() -> None:
    """The worker's jobs on a fast tick: start due fetches, post what is queued."""
    from bot.compose import open_deps
    from bot.config import Settings
    from bot.services.fetching import Fetcher, release_leases
    from bot.services.poster import Poster

    def stop(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    with open_deps(Settings()) as deps:
        fetcher, poster = Fetcher(deps), Poster(deps)
        try:
            while True:
                fetcher.start_due()
                poster.post_pending()
                time.sleep(TICK_S)
        finally:
            deps.stopping.set()
            fetcher.shutdown()
            release_leases(deps)


def main(argv: list[str] | None = None) -> None:
    """Run the chaos benchmark and record its figures."""
    from bench._results import record

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mentions", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker()
        return
    result = run_chaos(mentions=args.mentions, kills=args.kills, database_url=args.database_url)
    figures = {
        "chaos_mentions": result.mentions,
        "chaos_kills": result.kills,
        "chaos_lost": result.lost,
        "chaos_doubled": result.doubled,
        "chaos_finish_s": result.finish_s,
        "chaos_leases_left_after_sigterm": result.leases_left,
        "chaos_database": (args.database_url or "sqlite").partition(":")[0],
    }
    print(json.dumps(figures, indent=2))
    record("chaos" if args.database_url is None else "chaos_postgresql", figures)


if __name__ == "__main__":
    main()
