"""The worker's clock: fetch what is due and drain the outbox, on a fixed tick."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.services.deps import Deps
from bot.services.fetching import run_due_fetches
from bot.services.poster import Poster

log = logging.getLogger(__name__)

# How often the worker looks for due fetches; each watch keeps its own interval.
FETCH_TICK_S = 15
POST_TICK_S = 2


def run_once(deps: Deps, poster: Poster | None = None) -> tuple[int, int]:
    """Run every due fetch and every pending post once; return (new mentions, cards posted)."""
    outcomes = run_due_fetches(deps)
    report = (poster or Poster(deps)).post_pending()
    return sum(o.new_mentions for o in outcomes), len(report.posted)


def build_scheduler(deps: Deps, *, blocking: bool) -> BaseScheduler:
    """A scheduler with the fetch and post jobs, both starting at once and never overlapping."""
    scheduler: BaseScheduler = (
        BlockingScheduler(timezone="UTC") if blocking else BackgroundScheduler(timezone="UTC")
    )
    poster = Poster(deps)
    common = {"max_instances": 1, "coalesce": True, "next_run_time": deps.clock()}
    scheduler.add_job(
        run_due_fetches, "interval", args=[deps], seconds=FETCH_TICK_S, id="fetch_due", **common
    )
    scheduler.add_job(
        poster.post_pending, "interval", seconds=POST_TICK_S, id="post_pending", **common
    )
    return scheduler
