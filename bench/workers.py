"""Benchmark: three worker processes against one, on PostgreSQL (`workers_3_vs_1_throughput`).

Target (issue 12): three workers drain at least 1.5 times as fast as one. The workload is the
same each time: 200 Hacker News watches on a loopback network answering in 50 ms (two new
comments per search), stored and scored, and their 400 cards posted to a loopback Slack
answering each post in 30 ms, across 20 channels. N processes, each the worker's own loop
(due fetches, then a posting pass, again until nothing is due or queued), share the work
through their row leases. Throughput is cards posted per second, from the moment every
process is ready to the last one's exit. Needs the PostgreSQL server of the tests
(`OVERHEARD_BENCH_POSTGRES_URL`); makes a schema of its own and drops it.

    python -m bench.workers
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import col, func, select

from bench._loopback import hackernews
from bench._results import record
from bench.worker_rss import add_watches, worker_env
from bot.compose import open_deps
from bot.config import Settings
from bot.services.fetching import run_due_fetches
from bot.services.poster import Poster
from bot.store.db import make_engine, session_scope
from bot.store.models import Card, CardState, SourceCursor, Watch
from tests.fakes.slack_api import FakeSlack

WATCHES = 200
NETWORK_LATENCY_S = 0.050
SLACK_LATENCY_S = 0.030
TARGET_RATIO = 1.5
RUN_TIMEOUT_S = 600
POSTGRES_URL = os.environ.get(
    "OVERHEARD_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def postgres_schema() -> Iterator[str | None]:
    """A database URL on a fresh schema of its own (dropped afterwards), or None."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError:
        admin.dispose()
        yield None
        return
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def drain() -> None:
    """One worker process: wait for the go line on stdin, then fetch and post until done."""
    settings = Settings()
    with open_deps(settings) as deps:
        poster = Poster(deps)
        sys.stdin.readline()
        fetched = posted = 0
        while True:
            done = sum(not outcome.skipped for outcome in run_due_fetches(deps))
            report = poster.post_pending()
            fetched += done
            posted += len(report.posted)
            if done or report.posted:
                continue
            if _all_done(deps.engine):
                break
            time.sleep(0.05)  # another worker holds the rest
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = usage.ru_utime + usage.ru_stime
    print(json.dumps({"fetched": fetched, "posted": posted, "cpu_s": cpu_s}))


def _all_done(engine: Engine) -> bool:
    """Every watch fetched once and no card left queued."""
    with session_scope(engine) as session:
        watches = session.exec(select(func.count()).select_from(Watch)).one()
        attempted = session.exec(
            select(func.count())
            .select_from(SourceCursor)
            .where(col(SourceCursor.last_attempt_at).is_not(None))
        ).one()
        queued = session.exec(
            select(func.count()).select_from(Card).where(Card.state == CardState.QUEUED)
        ).one()
    return attempted >= watches and not queued


def _run(processes: int, network_url: str, fake: FakeSlack) -> tuple[float, int, int, float]:
    """Drain the workload with `processes` workers; (seconds, fetches, cards posted, CPU
    seconds the workers used, start-up included)."""
    with postgres_schema() as database_url:
        if database_url is None:
            raise SystemExit(f"bench workers: PostgreSQL not reachable at {POSTGRES_URL}")
        add_watches(database_url, WATCHES)
        env = worker_env(database_url, network_url, fake.base_url)
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.workers", "--drain"],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        time.sleep(2.0 + 2.0 * processes)  # imports and connections: not part of the work
        started = time.perf_counter()
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=RUN_TIMEOUT_S)[0] for worker in workers]
        elapsed = time.perf_counter() - started
        if any(worker.returncode for worker in workers):
            raise SystemExit(f"bench workers: a worker failed: {outputs}")
        counts = [json.loads(out.strip().splitlines()[-1]) for out in outputs]
        engine = make_engine(database_url)
        with session_scope(engine) as session:
            posted = session.exec(
                select(func.count()).select_from(Card).where(Card.state == CardState.POSTED)
            ).one()
        engine.dispose()
    fetched = sum(c["fetched"] for c in counts)
    if fetched != WATCHES or sum(c["posted"] for c in counts) != posted:
        raise SystemExit(f"bench workers: work lost or doubled: {counts}, {posted} posted")
    return elapsed, fetched, posted, sum(c["cpu_s"] for c in counts)


def main() -> None:
    """Run the benchmark and print its figures."""
    with FakeSlack() as fake, hackernews(NETWORK_LATENCY_S) as network_url:
        fake.delays["chat.postMessage"] = SLACK_LATENCY_S
        one_s, fetched, posted, one_cpu_s = _run(1, network_url, fake)
        three_s, _, posted_3, three_cpu_s = _run(3, network_url, fake)
    one_rate, three_rate = posted / one_s, posted_3 / three_s
    ratio = three_rate / one_rate
    print(
        f"workers: {WATCHES} watches ({NETWORK_LATENCY_S * 1000:.0f} ms network), {posted} cards "
        f"posted ({SLACK_LATENCY_S * 1000:.0f} ms Slack), PostgreSQL"
    )
    print(f"  1 worker:  {one_s:.1f} s ({one_rate:.1f} cards/s), {one_cpu_s:.1f} CPU s")
    print(f"  3 workers: {three_s:.1f} s ({three_rate:.1f} cards/s), {three_cpu_s:.1f} CPU s")
    print(
        f"  3 vs 1: {ratio:.2f}×; target {TARGET_RATIO}×: "
        f"{'met' if ratio >= TARGET_RATIO else 'MISSED'}"
    )
    sys.stdout.flush()
    record(
        "workers",
        {
            "watches": WATCHES,
            "fetches": fetched,
            "cards": posted,
            "network_latency_ms": round(NETWORK_LATENCY_S * 1000),
            "slack_latency_ms": round(SLACK_LATENCY_S * 1000),
            "database": "postgresql",
            "one_worker_s": round(one_s, 2),
            "three_workers_s": round(three_s, 2),
            "one_worker_cpu_s": round(one_cpu_s, 1),
            "three_workers_cpu_s": round(three_cpu_s, 1),
            "workers_3_vs_1_throughput": round(ratio, 2),
            "target_ratio": TARGET_RATIO,
            "target_met": ratio >= TARGET_RATIO,
        },
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--drain"]:
        drain()
    else:
        main()
