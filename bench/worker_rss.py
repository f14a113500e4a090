"""Benchmark: the worker's peak memory with 1,000 watches.

Target (issue 12): under 200 MB. Runs `overheard worker --once` as its own process — every
one of the 1,000 watches fetched from a loopback Hacker News answering in 50 ms, the new
mentions stored and scored, a pass of cards posted to a loopback Slack — and reads the
process's peak resident set size from the kernel when it exits. Prints and records it in
`bench/results.json`.

    python -m bench.worker_rss
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench._loopback import hackernews
from bench._results import record
from bot.store import migrate
from bot.store.db import make_engine, session_scope
from bot.store.models import Watch
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

WATCHES = 1_000
CHANNELS = 20
LATENCY_S = 0.050
TARGET_MB = 200.0
ROOT = Path(__file__).resolve().parent.parent


def add_watches(database_url: str, count: int) -> None:
    """A migrated database holding `count` Hacker News watches across CHANNELS channels."""
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    created = datetime.now(UTC) - timedelta(days=1)
    with session_scope(engine) as session:
        session.add_all(
            Watch(
                query=f"brand{i}",
                sources=["hackernews"],
                channel_id=f"C{i % CHANNELS:08d}",
                created_at=created,
            )
            for i in range(count)
        )
    engine.dispose()


def worker_env(database_url: str, network_url: str, slack_url: str) -> dict[str, str]:
    """The environment of a worker reading the loopback network and posting to the fake."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "OVERHEARD_", "DATABASE_URL"))
    }
    return {
        **keep,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "DATABASE_URL": database_url,
        "OVERHEARD_HACKERNEWS_URL": network_url,
        "SLACK_BOT_TOKEN": TEST_TOKEN,
        "SLACK_API_URL": slack_url,
        "OVERHEARD_POST_INTERVAL_S": "0",
        "OVERHEARD_LOG_LEVEL": "WARNING",
    }


def main() -> None:
    """Run the benchmark and print its figures."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeSlack() as fake,
        hackernews(LATENCY_S) as network_url,
    ):
        database_url = f"sqlite:///{Path(tmp) / 'worker.db'}"
        add_watches(database_url, WATCHES)
        out_path = Path(tmp) / "worker.out"
        with out_path.open("wb") as out:
            started = time.perf_counter()
            worker = subprocess.Popen(
                [sys.executable, "-m", "bot", "worker", "--once"],
                env=worker_env(database_url, network_url, fake.base_url),
                cwd=tmp,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            # wait4 gives this child's own peak, whatever other children the caller ran.
            _, status, usage = os.wait4(worker.pid, 0)
            worker.returncode = os.waitstatus_to_exitcode(status)
            elapsed = time.perf_counter() - started
        output = out_path.read_text(encoding="utf-8", errors="replace")
    done = re.search(r"(\d+) new mentions, (\d+) cards posted", output)
    if worker.returncode != 0 or done is None:
        raise SystemExit(f"bench worker_rss: the worker failed ({worker.returncode}):\n{output}")
    peak_mb = usage.ru_maxrss / 1024  # Linux reports kilobytes
    new, posted = int(done[1]), int(done[2])
    print(
        f"worker_rss: overheard worker --once, {WATCHES} watches, {LATENCY_S * 1000:.0f} ms "
        f"loopback network, SQLite, loopback Slack"
    )
    print(f"  {new} new mentions stored and scored, {posted} cards posted, in {elapsed:.1f} s")
    print(
        f"  peak RSS {peak_mb:.0f} MB; target {TARGET_MB:.0f} MB: "
        f"{'met' if peak_mb < TARGET_MB else 'MISSED'}"
    )
    sys.stdout.flush()
    record(
        "worker_rss",
        {
            "watches": WATCHES,
            "latency_ms": round(LATENCY_S * 1000),
            "new_mentions": new,
            "cards_posted": posted,
            "run_s": round(elapsed, 1),
            "worker_peak_rss_mb": round(peak_mb, 1),
            "target_mb": TARGET_MB,
            "target_met": peak_mb < TARGET_MB,
        },
    )


if __name__ == "__main__":
    main()
