"""Benchmark: 1,000 watch × source fetches against a loopback network answering in 50 ms.

Target (issue 3): under 30 s on the 2-core machine. Prints the time, fetches per second,
the ratio to the target and the speed-up over fetching one at a time, and records them in
`bench/results.json`.

    python -m bench.fetch
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from bench._results import record
from bot.config import Settings
from bot.services.deps import Deps
from bot.services.fetching import run_due_fetches
from bot.slack.chat import ConsoleChat
from bot.sources.hackernews import HackerNewsSource
from bot.store import migrate
from bot.store.db import make_engine, session_scope
from bot.store.models import Watch

LATENCY_S = 0.050
FETCHES = 1_000
SEQUENTIAL_SAMPLE = 40
TARGET_S = 30.0
HOSTS = 4  # the fake plays four networks, as a real deployment reads several
# Real network names, so the fetcher's per-network concurrency limit applies as in production.
NETWORKS = ("hackernews", "bluesky", "x", "stackexchange")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class _Network(BaseHTTPRequestHandler):
    """Algolia-shaped answers after LATENCY_S: two fresh hits per search, a user by name."""

    counter = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        time.sleep(LATENCY_S)
        url = urlsplit(self.path)
        if url.path.endswith("/search_by_date"):
            query = parse_qs(url.query)["query"][0]
            with self.lock:
                type(self).counter += 2
                n = self.counter
            hits = [
                {
                    "objectID": str(n + i),
                    "created_at_i": int(NOW.timestamp()) - 60,
                    "author": f"user{(n + i) % 50}",
                    "comment_text": f"<p>{query} is great</p>",
                    "story_id": 1,
                    "_tags": ["comment"],
                }
                for i in range(2)
            ]
            body = json.dumps({"hits": hits, "nbHits": 2, "nbPages": 1, "page": 0}).encode()
        else:
            body = json.dumps({"username": url.path.rsplit("/", 1)[-1], "karma": 1234}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def _deps(db: Path, base_url: str, http: httpx.Client) -> Deps:
    settings = Settings(_env_file=None, DATABASE_URL=f"sqlite:///{db}")  # type: ignore[call-arg]
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    sources = {
        NETWORKS[h]: HackerNewsSource(http, base_url=f"{base_url}/net{h}", retries=0)
        for h in range(HOSTS)
    }
    for name, source in sources.items():
        source.name = name  # type: ignore[misc]
    return Deps(settings, engine, ConsoleChat(io.StringIO()), sources, clock=lambda: NOW)


def _add_watches(deps: Deps, count: int) -> None:
    with session_scope(deps.engine) as session:
        for i in range(count):
            session.add(
                Watch(
                    query=f"brand{i}",
                    sources=[NETWORKS[i % HOSTS]],
                    channel_id="CBENCH",
                    created_at=NOW - timedelta(days=1),
                )
            )


def _run(count: int, *, workers: int | None, base_url: str) -> tuple[float, int]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        httpx.Client(limits=httpx.Limits(max_connections=64), timeout=10) as http,
    ):
        deps = _deps(Path(tmp) / "bench.db", base_url, http)
        _add_watches(deps, count)
        started = time.perf_counter()
        outcomes = (
            run_due_fetches(deps) if workers is None else run_due_fetches(deps, max_workers=workers)
        )
        elapsed = time.perf_counter() - started
        errors = [o.error for o in outcomes if o.error]
        if errors or len(outcomes) != count:
            raise SystemExit(f"bench fetch failed: {len(outcomes)} outcomes, errors {errors[:3]}")
        deps.engine.dispose()
        return elapsed, sum(o.new_mentions for o in outcomes)


def main() -> None:
    """Run the benchmark and print its figures."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Network)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    try:
        seq_s, _ = _run(SEQUENTIAL_SAMPLE, workers=1, base_url=base_url)
        total_s, stored = _run(FETCHES, workers=None, base_url=base_url)
    finally:
        server.shutdown()
    per_fetch_seq = seq_s / SEQUENTIAL_SAMPLE
    print(
        f"fetch: {FETCHES} watch × source fetches, {LATENCY_S * 1000:.0f} ms per answer, "
        f"{HOSTS} hosts"
    )
    print(
        f"  concurrent: {total_s:.1f} s ({FETCHES / total_s:.0f} fetches/s), "
        f"{stored} mentions stored"
    )
    print(
        f"  one at a time: {per_fetch_seq * 1000:.0f} ms per fetch "
        f"(≈ {per_fetch_seq * FETCHES:.0f} s for {FETCHES})"
    )
    print(
        f"  speed-up {per_fetch_seq * FETCHES / total_s:.1f}×; "
        f"target {TARGET_S:.0f} s: {total_s / TARGET_S:.2f} of it "
        f"({'met' if total_s < TARGET_S else 'MISSED'})"
    )
    sys.stdout.flush()
    record(
        "fetch",
        {
            "fetches": FETCHES,
            "latency_ms": round(LATENCY_S * 1000),
            "hosts": HOSTS,
            "fanout_1000_fetches_s": round(total_s, 2),
            "concurrent_s": round(total_s, 2),
            "fetches_per_s": round(FETCHES / total_s),
            "mentions_stored": stored,
            "one_at_a_time_ms_per_fetch": round(per_fetch_seq * 1000),
            "speed_up": round(per_fetch_seq * FETCHES / total_s, 1),
            "target_s": TARGET_S,
            "target_met": total_s < TARGET_S,
        },
    )


if __name__ == "__main__":
    main()
