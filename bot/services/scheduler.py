"""The worker's clock: fetches, snooze wake-ups, the outbox, SLA reminders, Homes, digests."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.services.cards import wake_due_cards
from bot.services.deps import Deps
from bot.services.digest_delivery import post_due_digests
from bot.services.fetching import Fetcher, FetchOutcome, run_due_fetches
from bot.services.home import refresh_homes
from bot.services.notices import report_problem, send_unsent_notices
from bot.services.poster import Poster
from bot.services.sla import SlaReport, remind_overdue

log = logging.getLogger(__name__)

# How often the worker looks for due fetches; each watch keeps its own interval.
FETCH_TICK_S = 15
POST_TICK_S = 2
# A snooze ends within this many seconds of its time.
WAKE_TICK_S = 30
# A card past its response target is reminded within this many seconds of it.
SLA_TICK_S = 60
# An open Home shows a change within this many seconds.
HOME_TICK_S = 30
# Digests go out within this many seconds of their local time.
DIGEST_TICK_S = 60


def wake_snoozed_cards(deps: Deps) -> list[int]:
    """Bring back the snoozed cards whose time has come; return their ids."""
    return wake_due_cards(deps.chat, engine=deps.engine, now=deps.clock())


def remind_overdue_cards(deps: Deps) -> SlaReport:
    """Remind and escalate the unclaimed cards past their response target."""
    report = remind_overdue(deps.chat, engine=deps.engine, now=deps.clock())
    for code, channel in dict.fromkeys(report.problems):
        report_problem(deps, code, channel)  # on the Home, and by DM to the admins
    return report


def refresh_home_tabs(deps: Deps) -> list[str]:
    """DM admins the notices they haven't had, then re-publish the Homes that changed."""
    send_unsent_notices(deps)
    return refresh_homes(deps)


@dataclass(frozen=True, slots=True)
class OnceReport:
    """What one pass of the worker did: each fetch's outcome and the cards posted."""

    fetches: list[FetchOutcome]
    posted: int

    @property
    def new_mentions(self) -> int:
        """New mentions stored by every fetch together."""
        return sum(o.new_mentions for o in self.fetches)

    @property
    def failed(self) -> list[FetchOutcome]:
        """The fetches that ran and failed (another worker's are not counted)."""
        return [o for o in self.fetches if o.error is not None and not o.skipped]

    @property
    def all_failed(self) -> bool:
        """True when fetches ran and not one of them worked."""
        ran = [o for o in self.fetches if not o.skipped]
        return bool(ran) and len(self.failed) == len(ran)


def run_once_report(deps: Deps, poster: Poster | None = None) -> OnceReport:
    """Run every due fetch, wake, pending post and SLA reminder once; say what happened."""
    outcomes = run_due_fetches(deps)
    wake_snoozed_cards(deps)
    report = (poster or Poster(deps)).post_pending()
    remind_overdue_cards(deps)
    return OnceReport(outcomes, len(report.posted))


def run_once(deps: Deps, poster: Poster | None = None) -> tuple[int, int]:
    """Run every due fetch, wake, pending post and SLA reminder once.

    Returns (new mentions, cards posted).
    """
    report = run_once_report(deps, poster)
    return report.new_mentions, report.posted


def build_scheduler(deps: Deps, *, blocking: bool, fetcher: Fetcher | None = None) -> BaseScheduler:
    """A scheduler with every job (fetch, wake, post, SLA, Homes): started at once, never twice.

    The fetch job only starts due fetches on `fetcher`'s threads, so a slow network never
    holds the tick (nor delays other watches' fetches).
    """
    scheduler: BaseScheduler = (
        BlockingScheduler(timezone="UTC") if blocking else BackgroundScheduler(timezone="UTC")
    )
    poster = Poster(deps)
    fetcher = fetcher or Fetcher(deps)
    common = {"max_instances": 1, "coalesce": True, "next_run_time": deps.clock()}
    scheduler.add_job(fetcher.start_due, "interval", seconds=FETCH_TICK_S, id="fetch_due", **common)
    scheduler.add_job(
        poster.post_pending, "interval", seconds=POST_TICK_S, id="post_pending", **common
    )
    scheduler.add_job(
        wake_snoozed_cards,
        "interval",
        args=[deps],
        seconds=WAKE_TICK_S,
        id="wake_snoozed",
        **common,
    )
    scheduler.add_job(
        remind_overdue_cards,
        "interval",
        args=[deps],
        seconds=SLA_TICK_S,
        id="remind_overdue",
        **common,
    )
    scheduler.add_job(
        refresh_home_tabs,
        "interval",
        args=[deps],
        seconds=HOME_TICK_S,
        id="refresh_homes",
        **common,
    )
    scheduler.add_job(
        post_due_digests,
        "interval",
        args=[deps],
        seconds=DIGEST_TICK_S,
        id="post_due_digests",
        # Not at start-up with the others: a digest is never urgent, a restart loop never
        # turns into a burst of them, and the first minute goes to cards.
        **{**common, "next_run_time": deps.clock() + timedelta(seconds=DIGEST_TICK_S)},
    )
    return scheduler
