"""The command line's common mistakes: each ends in one line saying what to do, and an exit code."""

from __future__ import annotations

import io
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.cli import main
from bot.console import console_loop
from bot.services.deps import Deps
from bot.slack.chat import ConsoleChat
from bot.store import migrate
from bot.store.db import make_engine
from tests.conftest import make_settings
from tests.factories import make_watch
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

UPGRADE_FIRST = "overheard: the database has no tables yet: run `overheard db upgrade` first\n"
URL_EXAMPLE = "use e.g. sqlite:///overheard.db or postgresql://USER:PASSWORD@HOST:5432/DB"
README_WATCH_OPTIONS = ("--source", "hackernews", "--channel", "C0123ABCD")
# Nothing listens here: a network asked at this address fails at once.
DEAD_URL = "http://127.0.0.1:9"


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh machine: SQLite in a temp folder, no Slack tokens, no .env, logging restored."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "OVERHEARD_", "DATABASE_URL")) or name.endswith(
            ("_TOKEN", "_PASSWORD", "_SECRET", "_HANDLE", "_CLIENT_ID")
        ):
            monkeypatch.delenv(name)
    path = tmp_path / "overheard.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        yield path
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]


def upgraded(path: Path) -> Path:
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return path


# ------------------------------------------------------------------ a database not migrated


@pytest.mark.parametrize(
    "args",
    [
        ["watch", "add", "acme", "--source", "hackernews", "--channel", "C0123ABCD"],
        ["watch", "list"],
        ["watch", "remove", "1"],
        ["watch", "pause", "1"],
        ["watch", "resume", "1"],
        ["sources", "status"],
        ["digest", "at", "08:30", "--channel", "C0123ABCD"],
    ],
)
def test_a_command_on_a_database_not_yet_migrated_says_to_run_db_upgrade(
    db_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code = main(args)

    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", UPGRADE_FIRST)
    assert tables(db_path) == []  # nothing written


def test_the_readme_order_watch_add_before_db_upgrade_ends_in_one_line_in_a_real_process(
    db_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "watch", "add", '"acme cloud"', *README_WATCH_OPTIONS],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert (result.returncode, result.stdout, result.stderr) == (2, "", UPGRADE_FIRST)


# ------------------------------------------------------------------ DATABASE_URL


@pytest.mark.parametrize(
    ("url", "line"),
    [
        ("not a url", f"DATABASE_URL=not a url: not a database URL: {URL_EXAMPLE}"),
        ("", f"DATABASE_URL is empty: set it to a database URL, e.g. {URL_EXAMPLE[9:]}"),
        (
            "mysql://u:secret@db.example/app",
            "DATABASE_URL=mysql://u:***@db.example/app: overheard runs on SQLite or "
            f"PostgreSQL, not mysql: {URL_EXAMPLE}",
        ),
        (
            "postgresql+psycopg2://u:secret@db.example/app",
            "DATABASE_URL asks for the postgresql+psycopg2 driver, which is not installed: "
            "write sqlite:///… or postgresql://… to use the drivers overheard ships with",
        ),
    ],
)
def test_a_database_url_that_cant_work_is_named_with_an_example_and_exit_2(
    db_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    line: str,
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)

    code = main(["watch", "list"])

    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", f"overheard: {line}\n")


@pytest.mark.parametrize(
    ("url", "line"),
    [
        (
            "postgresql://u:secret@127.0.0.1:9/app",
            "can't reach the database at postgresql+psycopg://u:***@127.0.0.1:9/app "
            "(connection refused): is it running? Check DATABASE_URL",
        ),
        (
            "postgresql://u:secret@overheard-db.invalid/app",
            "can't reach the database at postgresql+psycopg://u:***@overheard-db.invalid/app "
            "(unknown host): is it running? Check DATABASE_URL",
        ),
    ],
)
def test_a_database_that_cant_be_reached_says_where_and_why_without_the_password(
    db_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    line: str,
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)

    code = main(["watch", "list"])

    out, err = capsys.readouterr()
    assert (code, out, err) == (1, "", f"overheard: {line}\n")
    assert "secret" not in err


def test_a_sqlite_file_in_a_missing_folder_says_to_check_the_folder(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    where = db_path.parent / "no" / "such" / "folder" / "overheard.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{where}")

    code = main(["db", "upgrade"])

    assert code == 1
    assert capsys.readouterr().err == (
        f"overheard: can't open the SQLite database {where} (unable to open database file): "
        "check that its folder exists and is writable, or change DATABASE_URL\n"
    )


@pytest.mark.postgres
def test_a_postgres_database_that_does_not_exist_says_to_create_it(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import POSTGRES_URL

    server = POSTGRES_URL.rsplit("/", 1)[0]
    probe = make_engine(POSTGRES_URL)
    try:
        probe.connect().close()
    except Exception:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    finally:
        probe.dispose()
    monkeypatch.setenv("DATABASE_URL", f"{server}/overheard_no_such_db")

    code = main(["watch", "list"])

    assert code == 1
    assert capsys.readouterr().err.endswith(
        '/overheard_no_such_db (database "overheard_no_such_db" does not exist): '
        "create it, or check DATABASE_URL\n"
    )


# ------------------------------------------------------------------ settings


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        (
            "OVERHEARD_POST_INTERVAL_S",
            "abc",
            "OVERHEARD_POST_INTERVAL_S=abc: must be a number of seconds, 0 or more, e.g. 1.0",
        ),
        (
            "OVERHEARD_LOG_LEVEL",
            "LOUD",
            "OVERHEARD_LOG_LEVEL=LOUD: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
        ),
        (
            "OVERHEARD_BACKFILL_HOURS",
            "0",
            "OVERHEARD_BACKFILL_HOURS=0: must be a number of hours above 0, e.g. 24",
        ),
        (
            "OVERHEARD_TIMEZONE",
            "Moon/Base",
            "OVERHEARD_TIMEZONE=Moon/Base: unknown time zone 'Moon/Base'",
        ),
    ],
)
def test_a_bad_setting_is_named_with_what_it_accepts_and_exit_2(
    db_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    line: str,
) -> None:
    monkeypatch.setenv(name, value)

    code = main(["watch", "list"])

    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", f"overheard: {line}\n")


@pytest.mark.parametrize(
    ("env", "args", "code", "line"),
    [
        (
            {"OVERHEARD_POST_INTERVAL_S": "abc"},
            ["worker", "--once"],
            2,
            "overheard: OVERHEARD_POST_INTERVAL_S=abc: must be a number of seconds, 0 or more, "
            "e.g. 1.0",
        ),
        (
            {"DATABASE_URL": "postgresql://u:secret@127.0.0.1:9/app"},
            ["sources", "status"],
            1,
            "overheard: can't reach the database at postgresql+psycopg://u:***@127.0.0.1:9/app "
            "(connection refused): is it running? Check DATABASE_URL",
        ),
        (
            {},
            ["watch", "remove", "99999999999999999999"],
            2,
            "overheard watch remove: argument id: 99999999999999999999 is not an id: ids run "
            "from 1 to 2147483647 (see overheard watch remove --help)",
        ),
    ],
)
def test_mistakes_end_in_one_line_and_no_traceback_in_a_real_process(
    db_path: Path, env: dict[str, str], args: list[str], code: int, line: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert (result.returncode, result.stderr) == (code, line + "\n")


def test_an_unexpected_error_is_one_line_with_where_to_look_and_the_traceback_at_debug(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    upgraded(db_path)

    def broken(*, session: object, enabled_only: bool = False) -> list[object]:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr("bot.cli.list_watches", broken)

    quiet = main(["watch", "list"])
    quiet_err = capsys.readouterr().err
    monkeypatch.setenv("OVERHEARD_LOG_LEVEL", "debug")
    loud = main(["watch", "list"])
    loud_err = capsys.readouterr().err

    assert (quiet, loud) == (1, 1)
    assert quiet_err == (
        "overheard: RuntimeError: disk on fire (run with OVERHEARD_LOG_LEVEL=DEBUG for details)\n"
    )
    assert "Traceback" in loud_err and loud_err.endswith(quiet_err)


# ------------------------------------------------------------------ ids too large


@pytest.mark.parametrize("verb", ["remove", "pause", "resume"])
@pytest.mark.parametrize("value", ["99999999999999999999", "3000000000", "0", "-1"])
def test_an_id_no_column_can_hold_is_refused_before_the_database_is_asked(
    db_path: Path, capsys: pytest.CaptureFixture[str], verb: str, value: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["watch", verb, value])

    out, err = capsys.readouterr()
    assert (exit_.value.code, out) == (2, "")
    assert err == (
        f"overheard watch {verb}: argument id: {value} is not an id: ids run from 1 to "
        f"2147483647 (see overheard watch {verb} --help)\n"
    )
    assert not db_path.exists()  # refused before anything was opened


@pytest.mark.parametrize("interval", ["99999999999999999999", "3000000000", "604801"])
def test_watch_add_refuses_an_interval_longer_than_a_week_and_writes_nothing(
    db_path: Path, capsys: pytest.CaptureFixture[str], interval: str
) -> None:
    upgraded(db_path)

    code = main(["watch", "add", "acme", *README_WATCH_OPTIONS, "--interval", interval])

    assert code == 2
    assert capsys.readouterr().err == "overheard: the interval must be at most 604800 s (a week)\n"
    assert main(["watch", "list"]) == 0
    assert capsys.readouterr().out.startswith("No watches.")


@pytest.mark.parametrize("value", ["99999999999999999999", "3000000000"])
def test_the_console_answers_a_claim_of_an_id_too_large_and_keeps_running(
    engine: Engine, value: str
) -> None:
    out = io.StringIO()
    deps = Deps(make_settings(), engine, ConsoleChat(out), {})

    console_loop(deps, io.StringIO(f"claim {value}\nclaim 7\nquit\n"), out)

    assert out.getvalue() == f"no card {value}\nno card 7\n"


# ------------------------------------------------------------------ Slack


def test_a_wrong_slack_token_is_refused_before_saying_connected(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    upgraded(db_path)
    with FakeSlack(token=TEST_TOKEN) as fake:
        monkeypatch.setenv("SLACK_API_URL", fake.base_url)
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong")
        monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A0-1-zz")

        code = main(["run"])

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        "overheard: Slack refused SLACK_BOT_TOKEN (invalid_auth): copy the Bot User OAuth Token "
        "(xoxb-…) from your app's OAuth & Permissions page into .env\n"
    )


def test_the_worker_stops_on_a_wrong_slack_token_but_not_on_a_slack_it_cant_reach(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    upgraded(db_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong")
    with FakeSlack(token=TEST_TOKEN) as fake:
        monkeypatch.setenv("SLACK_API_URL", fake.base_url)
        refused = main(["worker", "--once"])
    refused_err = capsys.readouterr().err
    monkeypatch.setenv("SLACK_API_URL", DEAD_URL + "/api/")  # an outage: cards wait in the queue
    unreachable = main(["worker", "--once"])

    assert refused == 2
    assert refused_err.startswith("overheard: Slack refused SLACK_BOT_TOKEN (invalid_auth): ")
    assert unreachable == 0
    assert capsys.readouterr().out == "0 new mentions, 0 cards posted.\n"


def test_a_bot_token_in_place_of_the_app_token_is_named(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    upgraded(db_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xoxb-1")

    code = main(["run"])

    assert code == 2
    assert capsys.readouterr().err == (
        "overheard: SLACK_APP_TOKEN is not an app-level token (xapp-…): create one with "
        "connections:write under Basic Information → App-Level Tokens\n"
    )


# ------------------------------------------------------------------ worker --once


def test_worker_once_exits_1_and_says_so_when_every_fetch_failed(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    upgraded(db_path)
    monkeypatch.setenv("OVERHEARD_HACKERNEWS_URL", DEAD_URL)
    main(["watch", "add", "acme", "--source", "hackernews", "--channel", "C0123ABCD"])
    capsys.readouterr()

    code = main(["worker", "--once"])

    out, err = capsys.readouterr()
    last = err.splitlines()[-1]
    assert code == 1
    assert out == "0 new mentions, 0 cards posted.\n"
    assert last.startswith("overheard: every fetch failed (1), e.g. hackernews for watch #1: ")
    assert last.endswith("; see `overheard sources status`") and "Traceback" not in err


def test_worker_once_exits_0_when_one_network_worked_and_another_failed(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite:///{upgraded(db_path)}")
    try:
        make_watch(engine, sources=["sample", "hackernews"], channel_id="CONSOLE")
    finally:
        engine.dispose()
    monkeypatch.setenv("OVERHEARD_HACKERNEWS_URL", DEAD_URL)

    code = main(["worker", "--once"])

    assert code == 0
    assert "every fetch failed" not in capsys.readouterr().err


# ------------------------------------------------------------------ sources status


def test_sources_status_with_no_watches_says_how_to_add_one_and_what_is_configured(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    upgraded(db_path)
    monkeypatch.setenv("X_BEARER_TOKEN", "x-token")

    code = main(["sources", "status"])

    assert code == 0
    assert capsys.readouterr().out == (
        "No watches yet: add one with "
        "`overheard watch add QUERY --source hackernews --channel C0123ABCD`.\n"
        "Ready: hackernews, x, rss, appstore, stackexchange. Not configured: mastodon (set "
        "MASTODON_ACCESS_TOKEN), bluesky (set BLUESKY_HANDLE, BLUESKY_APP_PASSWORD), reddit "
        "(set REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET).\n"
        "ok Slack: ok, 0 cards waiting to post\n"
    )


def test_sources_status_before_the_first_fetch_shows_each_network_and_what_it_lacks(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upgraded(db_path)
    main(
        [
            "watch",
            "add",
            "acme",
            "--source",
            "hackernews",
            "--source",
            "x",
            "--channel",
            "C0123ABCD",
        ]
    )
    capsys.readouterr()

    code = main(["sources", "status"])

    assert code == 1
    assert capsys.readouterr().out.splitlines() == [
        "·· watch #1 hackernews     waiting         never fetched yet",
        "!! watch #1 x              not configured  set X_BEARER_TOKEN",
        "ok Slack: ok, 0 cards waiting to post",
    ]


def test_sources_status_never_calls_a_network_that_never_worked_ok(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    upgraded(db_path)
    monkeypatch.setenv("OVERHEARD_HACKERNEWS_URL", DEAD_URL)
    main(["watch", "add", "acme", "--source", "hackernews", "--channel", "C0123ABCD"])
    main(["worker", "--once"])
    capsys.readouterr()

    code = main(["sources", "status"])

    line, slack = capsys.readouterr().out.splitlines()
    assert code == 1
    assert slack == "ok Slack: ok, 0 cards waiting to post"
    assert line.startswith(
        "!! watch #1 hackernews     failing         never worked (watch added just now) · "
        "last success never · last new mention never · 1 failures in a row · last error: "
    )


# ------------------------------------------------------------------ preview


def test_preview_with_sample_shows_the_bundled_cards_offline(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["preview", "acme", "--sample", "--limit", "2"])

    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert "── 1 " in out and "── 2 " in out and "── 3 " not in out
    assert out.rstrip().endswith("matching mentions shown; nothing was stored or posted.")
    assert not db_path.exists()


def test_preview_as_the_readme_writes_it_skips_what_it_cant_search_and_offers_the_samples(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVERHEARD_HACKERNEWS_URL", DEAD_URL)
    monkeypatch.setenv("OVERHEARD_STACKEXCHANGE_URL", DEAD_URL)
    monkeypatch.setenv("OVERHEARD_LOG_LEVEL", "ERROR")  # the retries' log lines aside

    code = main(["preview", "acme"])

    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err[0] == (
        "Skipped mastodon (set MASTODON_ACCESS_TOKEN), bluesky (set BLUESKY_HANDLE, "
        "BLUESKY_APP_PASSWORD), reddit (set REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET), x (set "
        "X_BEARER_TOKEN), rss (needs --feed-url), appstore (needs --app-id)."
    )
    assert [line.split(":")[0] for line in err[1:-1]] == ["hackernews", "stackexchange"]
    assert err[-1] == (
        "overheard: no network answered; `overheard preview acme --sample` shows the bundled "
        "sample mentions instead"
    )
