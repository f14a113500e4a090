"""The command line: run, serve, worker, watch, preview, sources, feedback, digest and db."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from bot.compose import open_deps, open_engine, open_sources, require_schema
from bot.config import Settings
from bot.console import console_loop, ensure_demo_watch, render_preview
from bot.failures import DEBUG_HINT, OneLineParser, SetupError, one_line, row_id, settings_problem
from bot.logs import configure_logging
from bot.services.deps import utcnow
from bot.services.watch_args import (
    add_network_options,
    add_watch_arguments,
    add_watch_from_args,
    network_options,
)
from bot.services.watches import (
    WatchError,
    list_watches,
    remove_watch,
    set_watch_enabled,
)
from bot.slack.clients import listener_client, poster_client
from bot.sources import REGISTRY, Registry
from bot.sources.base import Source
from bot.sources.sample import SAMPLE, SampleSource
from bot.store import migrate
from bot.store.db import session_scope

log = logging.getLogger(__name__)

CONNECT_HINT = """\
To connect Slack: create the app from manifest.yaml at https://api.slack.com/apps
(Create New App → From a manifest), install it, then set SLACK_BOT_TOKEN (xoxb-…) and
SLACK_APP_TOKEN (xapp-…, with connections:write) in .env and run `make run` again."""
# What auth.test answers for a token that will never work; anything else may pass.
SLACK_TOKEN_REFUSALS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)


def check_slack_token(settings: Settings) -> None:
    """Raise SetupError when Slack refuses SLACK_BOT_TOKEN; an outage only gets a warning."""
    from slack_sdk.errors import SlackApiError

    try:
        poster_client(settings).auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error in SLACK_TOKEN_REFUSALS:
            raise SetupError(
                f"Slack refused SLACK_BOT_TOKEN ({error}): copy the Bot User OAuth Token "
                "(xoxb-…) from your app's OAuth & Permissions page into .env"
            ) from exc
        log.warning("Slack's auth.test answered %s; starting anyway", error)
    except OSError as exc:  # Slack unreachable: cards wait in the queue until it is back
        log.warning("can't reach Slack to check SLACK_BOT_TOKEN (%s); starting anyway", exc)


def cmd_db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    """Apply every pending migration."""
    with open_engine(settings) as engine:
        migrate.upgrade(engine)
        where = engine.url.render_as_string(hide_password=True)
    print(f"Database is up to date ({where}).")
    return 0


def cmd_watch_add(settings: Settings, args: argparse.Namespace) -> int:
    """Save a watch after checking every part of it."""
    require_schema(settings)
    try:
        with open_engine(settings) as engine, session_scope(engine) as session:
            watch = add_watch_from_args(
                args,
                session=session,
                now=utcnow(),
                allow_private_urls=settings.allow_private_urls,
                networks=args.networks,
            )
            print(
                f"Watch #{watch.id}: {watch.query!r} on {', '.join(watch.sources)} → "
                f"{watch.channel_id}, every {watch.interval_s} s"
            )
    except WatchError as exc:
        print(f"overheard: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_watch_list(settings: Settings, _args: argparse.Namespace) -> int:
    """Print every watch."""
    require_schema(settings)
    with open_engine(settings) as engine, session_scope(engine) as session:
        watches = list_watches(session=session)
    if not watches:
        print(
            "No watches. Add one: overheard watch add QUERY --source hackernews --channel C0123ABCD"
        )
    for w in watches:
        state = "" if w.enabled else " (paused)"
        print(
            f"#{w.id}\t{w.query!r}\t{','.join(w.sources)}\t{w.channel_id}\t"
            f"every {w.interval_s} s{state}"
        )
    return 0


def cmd_watch_remove(settings: Settings, args: argparse.Namespace) -> int:
    """Delete a watch; its cards stay."""
    require_schema(settings)
    try:
        with open_engine(settings) as engine, session_scope(engine) as session:
            watch = remove_watch(args.id, session=session)
    except WatchError as exc:
        print(f"overheard: {exc}", file=sys.stderr)
        return 2
    print(f"Removed watch #{watch.id} ({watch.query!r}).")
    return 0


def cmd_watch_pause(settings: Settings, args: argparse.Namespace) -> int:
    """Stop fetching a watch; it and its cards stay."""
    return _set_enabled(settings, args.id, enabled=False)


def cmd_watch_resume(settings: Settings, args: argparse.Namespace) -> int:
    """Fetch a paused watch again, from the next tick."""
    return _set_enabled(settings, args.id, enabled=True)


def _set_enabled(settings: Settings, watch_id: int, *, enabled: bool) -> int:
    require_schema(settings)
    try:
        with open_engine(settings) as engine, session_scope(engine) as session:
            watch = set_watch_enabled(watch_id, enabled, session=session)
    except WatchError as exc:
        print(f"overheard: {exc}", file=sys.stderr)
        return 2
    done = "Resumed" if enabled else "Paused"
    print(f"{done} watch #{watch.id} ({watch.query!r}).")
    return 0


def cmd_run(settings: Settings, _args: argparse.Namespace) -> int:
    """Run everything in one process: Socket Mode with Slack tokens, the console without."""
    from bot.services.scheduler import build_scheduler

    require_schema(settings)
    if settings.slack_configured:
        if settings.slack_app_token is None:
            print(
                "SLACK_BOT_TOKEN is set but SLACK_APP_TOKEN is not: set it for Socket Mode, "
                "or run `overheard serve` (HTTP mode) and `overheard worker`.",
                file=sys.stderr,
            )
            return 2
        if not settings.slack_app_token.get_secret_value().startswith("xapp-"):
            raise SetupError(
                "SLACK_APP_TOKEN is not an app-level token (xapp-…): create one with "
                "connections:write under Basic Information → App-Level Tokens"
            )
        check_slack_token(settings)
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from handlers.app import build_app

        with open_deps(settings) as deps:
            scheduler = build_scheduler(deps, blocking=False)
            scheduler.start()
            app = build_app(deps, listener_client(settings))
            print("overheard is connected to Slack over Socket Mode. Ctrl-C stops it.")
            try:
                SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()  # type: ignore[no-untyped-call]
            finally:
                scheduler.shutdown(wait=False)
        return 0
    out = sys.stdout
    out.write("No Slack tokens set: running on the console backend with sample mentions.\n")
    out.write(CONNECT_HINT + "\n")
    with open_deps(settings, console=out) as deps:
        ensure_demo_watch(deps, out)
        scheduler = build_scheduler(deps, blocking=False)
        scheduler.start()
        out.write(
            "Act on a card by typing `claim N`, `resolve N`, `dismiss N` or `reopen N`; "
            "Ctrl-C stops.\n"
        )
        try:
            console_loop(deps, sys.stdin, out)
            threading.Event().wait()  # stdin closed: keep the worker running until Ctrl-C
        except KeyboardInterrupt:
            pass
        finally:
            scheduler.shutdown(wait=False)
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Serve Bolt over HTTP on /slack/events, with /healthz, through gunicorn."""
    from bot.slack.web import build_wsgi, serve
    from handlers.app import build_app

    if not settings.slack_configured or settings.slack_signing_secret is None:
        print("HTTP mode needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET.", file=sys.stderr)
        return 2
    require_schema(settings)
    check_slack_token(settings)
    secret = settings.slack_signing_secret.get_secret_value()
    token = settings.metrics_token
    metrics_token = token.get_secret_value() if token else None
    held: list[contextlib.ExitStack] = []

    def load() -> Any:
        """Built in the server's worker process: database pools and clients don't cross a fork."""
        stack = contextlib.ExitStack()
        held.append(stack)  # open for the worker's life; the process exit closes them
        deps = stack.enter_context(open_deps(settings))
        return build_wsgi(
            build_app(deps, listener_client(settings)),
            deps.engine,
            signing_secret=secret,
            metrics_token=metrics_token,
            clock=deps.clock,
        )

    print(f"overheard is serving on http://{args.host}:{args.port}/slack/events")
    serve(load, args.host, args.port, threads=args.threads)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Run the scheduler alone; with --once, fetch and post what is due, then exit."""
    from bot.services.fetching import Fetcher, release_leases
    from bot.services.scheduler import build_scheduler, run_once_report

    require_schema(settings)
    if settings.slack_configured:
        check_slack_token(settings)
    console = None if settings.slack_configured else sys.stdout
    with open_deps(settings, console=console) as deps:
        if args.once:
            report = run_once_report(deps)
            print(f"{report.new_mentions} new mentions, {report.posted} cards posted.")
            if report.all_failed:
                first = report.failed[0]
                why = " ".join((first.error or "").split())[:200]
                print(
                    f"overheard: every fetch failed ({len(report.failed)}), e.g. "
                    f"{first.source} for watch #{first.watch_id}: {why}; "
                    "see `overheard sources status`",
                    file=sys.stderr,
                )
                return 1
            return 0
        fetcher = Fetcher(deps)
        scheduler = build_scheduler(deps, blocking=True, fetcher=fetcher)
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            with contextlib.suppress(KeyboardInterrupt, SystemExit):
                scheduler.start()
        finally:
            # SIGTERM or Ctrl-C: running jobs finish their card or batch, fetches give
            # their leases back, and nothing this worker held waits for a lease to run out.
            deps.stopping.set()
            if scheduler.running:
                scheduler.shutdown(wait=True)
            fetcher.shutdown()
            release_leases(deps)
    return 0


def cmd_metrics(settings: Settings, _args: argparse.Namespace) -> int:
    """Print the metrics /metrics serves, read from the database (for a worker-only set-up)."""
    from bot.services.metrics import collect_metrics, render_prometheus

    require_schema(settings)
    with open_engine(settings) as engine, session_scope(engine) as session:
        text = render_prometheus(collect_metrics(session=session, now=utcnow()))
    sys.stdout.write(text)
    return 0


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def cmd_preview(settings: Settings, args: argparse.Namespace) -> int:
    """Search the networks now and print the cards that would be posted; store nothing."""
    from bot.services.preview import preview_cards

    options = network_options(args, args.networks)
    with open_sources(settings, networks=args.networks) as sources:
        if args.sample:
            sources, names = {SAMPLE.key: SampleSource()}, [SAMPLE.key]
        elif args.source:
            names = args.source
        else:
            names, skipped = _reachable(sources, options, args.networks)
            if skipped:
                print(f"Skipped {', '.join(skipped)}.", file=sys.stderr)
        try:
            report = preview_cards(
                args.query,
                names,
                sources,
                options=options,
                now=utcnow(),
                allow_private_urls=settings.allow_private_urls,
                limit=args.limit,
                networks=args.networks,
            )
        except WatchError as exc:
            print(f"overheard: {exc}", file=sys.stderr)
            return 2
    for line in render_preview(report):
        print(line)
    for name, error in report.errors.items():
        print(f"{name}: {error}", file=sys.stderr)
    if report.errors and not report.cards:
        print(
            f"overheard: no network answered; `overheard preview {args.query} --sample` "
            "shows the bundled sample mentions instead",
            file=sys.stderr,
        )
        return 1
    return 0


def _reachable(
    sources: dict[str, Source], options: dict[str, str], networks: Registry
) -> tuple[list[str], list[str]]:
    """The networks a preview can search as asked, and why each other one is left out."""
    names: list[str] = []
    skipped: list[str] = []
    for name, source in sources.items():
        needs = [o.flag for o in networks[name].options if o.required and not options.get(o.name)]
        if source.missing_settings:
            skipped.append(f"{name} (set {', '.join(source.missing_settings)})")
        elif needs:
            skipped.append(f"{name} (needs {', '.join(needs)})")
        else:
            names.append(name)
    return names, skipped


def cmd_sources_status(settings: Settings, _args: argparse.Namespace) -> int:
    """Print each watch × network's health and Slack's backlog; exit 1 when any is flagged."""
    from bot.services.health import describe_health, slack_backlog

    require_schema(settings)
    with (
        open_engine(settings) as engine,
        open_sources(settings) as sources,
        session_scope(engine) as session,
    ):
        rows = describe_health(session=session, sources=sources, now=utcnow())
        slack = slack_backlog(session=session, now=utcnow())
        ready = [name for name, source in sources.items() if not source.missing_settings]
        unset = [
            f"{name} (set {', '.join(source.missing_settings)})"
            for name, source in sources.items()
            if source.missing_settings
        ]
    if not rows:
        print(
            "No watches yet: add one with "
            "`overheard watch add QUERY --source hackernews --channel C0123ABCD`."
        )
        print(f"Ready: {', '.join(ready) or 'none'}. Not configured: {', '.join(unset) or 'none'}.")
    for row in rows:
        print(row.line())
    for line in slack.lines():
        print(f"{'!!' if slack.flagged else 'ok'} {line}")
    return 1 if slack.flagged or any(row.flagged for row in rows) else 0


def cmd_feedback_export(settings: Settings, args: argparse.Namespace) -> int:
    """Write every sentiment correction as TSV, to a file or to standard output."""
    from bot.services.feedback import export_feedback

    require_schema(settings)
    with open_engine(settings) as engine, session_scope(engine) as session:
        if args.output is None:
            count = export_feedback(sys.stdout, session=session)
        else:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                count = export_feedback(out, session=session)
    where = args.output or "standard output"
    print(f"{count} sentiment corrections written to {where}.", file=sys.stderr)
    return 0


def cmd_digest_send(settings: Settings, args: argparse.Namespace) -> int:
    """Post a channel's digest now, for yesterday or --date (local), whatever the schedule."""
    from bot.services.digest_delivery import Outcome, send_digest

    require_schema(settings)
    console = None if settings.slack_configured else sys.stdout
    with open_deps(settings, console=console) as deps:
        result = send_digest(deps, args.channel, args.date, weekly=args.weekly)
    if result.outcome is Outcome.FAILED:
        print(f"overheard: the digest for {args.channel} failed: {result.error}", file=sys.stderr)
        return 1
    split = ", ".join(f"{count} {label}" for label, count in result.by_sentiment)
    chart = "with its chart" if result.chart else "no chart (no mentions in 7 days)"
    print(
        f"Digest for {result.first_day} posted to {result.channel_id} (ts {result.ts}): "
        f"{result.mentions} mentions ({split or 'none'}); {chart}."
    )
    return 0


def cmd_digest_at(settings: Settings, args: argparse.Namespace) -> int:
    """Set when a channel's digest goes out."""
    from bot.services.digest_times import DigestTimeError, set_digest_time

    zone = args.tz or settings.timezone
    require_schema(settings)
    try:
        with open_engine(settings) as engine, session_scope(engine) as session:
            schedule = set_digest_time(
                args.channel,
                args.time,
                zone,
                weekly=args.weekly,
                name_staff=args.name_staff,
                by="cli",
                session=session,
                now=utcnow(),
            )
            at = schedule.at_time
    except DigestTimeError as exc:
        print(f"overheard: {exc}", file=sys.stderr)
        return 2
    every = "every Monday, for the week before" if args.weekly else "every day, for the day before"
    print(f"{args.channel} gets its digest at {at} {zone}, {every}.")
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date like 2026-11-24: {text!r}") from exc


def build_parser(networks: Registry = REGISTRY) -> argparse.ArgumentParser:
    """The argument parser for every subcommand; `networks` gives the choices and their flags."""
    parser = OneLineParser(prog="overheard", description=__doc__)
    parser.set_defaults(networks=networks)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "run", help="Socket Mode + scheduler, or the console demo without Slack"
    ).set_defaults(func=cmd_run)
    serve = sub.add_parser("serve", help="HTTP mode: /slack/events and /healthz")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104  (a web dyno listens on all)
    serve.add_argument(
        "--threads", type=int, default=32, help="requests served at once (default 32)"
    )
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="the scheduler alone")
    worker.add_argument("--once", action="store_true", help="run what is due once, then exit")
    worker.set_defaults(func=cmd_worker)

    sub.add_parser(
        "metrics", help="print the /metrics figures (Prometheus text), from the database"
    ).set_defaults(func=cmd_metrics)

    watch = sub.add_parser("watch", help="manage watches").add_subparsers(
        dest="watch", required=True
    )
    add = watch.add_parser("add", help="watch a query on one or more networks")
    add_watch_arguments(add, networks)
    add.set_defaults(func=cmd_watch_add)
    watch.add_parser("list", help="list watches").set_defaults(func=cmd_watch_list)
    remove = watch.add_parser("remove", help="delete a watch")
    remove.add_argument("id", type=row_id)
    remove.set_defaults(func=cmd_watch_remove)
    pause = watch.add_parser("pause", help="stop fetching a watch, keeping it")
    pause.add_argument("id", type=row_id)
    pause.set_defaults(func=cmd_watch_pause)
    resume = watch.add_parser("resume", help="fetch a paused watch again")
    resume.add_argument("id", type=row_id)
    resume.set_defaults(func=cmd_watch_resume)

    preview = sub.add_parser("preview", help="search now and print what would be posted")
    preview.add_argument("query")
    preview.add_argument(
        "--source",
        action="append",
        choices=networks.keys,
        help="a network to search (repeat; default: every configured one)",
    )
    add_network_options(preview, networks)
    preview.add_argument(
        "--sample",
        action="store_true",
        help="search the bundled sample mentions instead of the networks (works offline)",
    )
    preview.add_argument("--limit", type=int, default=20, help="cards to print at most")
    preview.set_defaults(func=cmd_preview)

    sources = sub.add_parser("sources", help="the networks").add_subparsers(
        dest="sources", required=True
    )
    sources.add_parser("status", help="each watch × network's health").set_defaults(
        func=cmd_sources_status
    )

    feedback = sub.add_parser("feedback", help="what people told overheard").add_subparsers(
        dest="feedback", required=True
    )
    export = feedback.add_parser(
        "export", help="sentiment corrections as TSV, to retrain the sentiment model"
    )
    export.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    export.set_defaults(func=cmd_feedback_export)

    digest = sub.add_parser("digest", help="the daily digest").add_subparsers(
        dest="digest", required=True
    )
    send = digest.add_parser("send", help="post a channel's digest now")
    send.add_argument("--channel", required=True, help="Slack channel ID, like C0123ABCD")
    send.add_argument(
        "--date", type=_day, help="the local day to cover, YYYY-MM-DD (default: yesterday)"
    )
    send.add_argument("--weekly", action="store_true", help="cover 7 days from --date")
    send.set_defaults(func=cmd_digest_send)
    at = digest.add_parser("at", help="set when a channel's digest goes out")
    at.add_argument("time", help="local time, HH:MM")
    at.add_argument("--tz", help="IANA time zone, like Europe/Berlin (default OVERHEARD_TIMEZONE)")
    at.add_argument("--channel", required=True, help="Slack channel ID, like C0123ABCD")
    at.add_argument("--weekly", action="store_true", help="Mondays only, for the week before")
    at.add_argument("--name-staff", action="store_true", help="name people in the response times")
    at.set_defaults(func=cmd_digest_at)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the subcommand; a known mistake ends in one line."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        return _fail(settings_problem(exc), 2)
    configure_logging(settings.log_level, fmt=settings.log_format)
    try:
        result: int = args.func(settings, args)
    except SetupError as exc:
        return _fail(str(exc), exc.exit_code)
    except SQLAlchemyError as exc:
        log.debug("database error", exc_info=True)
        orig = getattr(exc, "orig", None) or exc
        return _fail(f"the database refused: {one_line(orig)} ({DEBUG_HINT})", 1)
    except Exception as exc:
        log.debug("unexpected error", exc_info=True)
        return _fail(f"{one_line(exc)} ({DEBUG_HINT})", 1)
    return result


def _fail(message: str, code: int) -> int:
    print(f"overheard: {message}", file=sys.stderr)
    return code
