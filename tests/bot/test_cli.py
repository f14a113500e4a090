"""The command line as a newcomer uses it: the console demo, watches, migrations, exports."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.services.feedback import record_sentiment_feedback
from bot.services.pipeline import ingest_mentions
from bot.store.db import make_engine, session_scope
from tests.factories import CHANNEL, NOW, make_fetched, make_posted_card, make_watch

# Not a speed target (bench/ measures that): only how long a stuck process may take to fail.
RUN_DEADLINE_S = 120


def overheard(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A fresh machine's environment: SQLite in a temp folder, no Slack tokens."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "OVERHEARD_", "DATABASE_URL"))
    }
    clean["DATABASE_URL"] = f"sqlite:///{tmp_path / 'overheard.db'}"
    return clean


def test_run_without_slack_tokens_prints_the_sample_cards_and_acts_on_a_typed_claim(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert overheard("db", "upgrade", env=env).returncode == 0
    lines: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=tmp_path,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        watchdog = threading.Timer(RUN_DEADLINE_S, proc.kill)  # a hung app fails, not hangs
        watchdog.start()
        try:
            for line in proc.stdout:
                lines.append(line)
                if sum("[Claim] [Resolve] [Dismiss]" in seen for seen in lines) >= 7:
                    break
            proc.stdin.write("claim 1\n")
            proc.stdin.flush()
            for line in proc.stdout:
                lines.append(line)
                if "Claimed by" in line:
                    break
        finally:
            watchdog.cancel()
            proc.kill()
    output = "".join(lines)
    assert sum("[Claim] [Resolve] [Dismiss]" in seen for seen in lines) >= 7, output
    assert "SLACK_BOT_TOKEN" in output  # says how to connect Slack
    assert "Claimed by" in output
    assert "&lt;" not in output and "<!channel>" in output  # shown as written, not as markup


def test_watch_add_then_list_then_remove(env: dict[str, str]) -> None:
    overheard("db", "upgrade", env=env)

    added = overheard(
        "watch", "add", "acme cloud", "--source", "hackernews", "--channel", "C0123ABCD", env=env
    )
    listed = overheard("watch", "list", env=env)
    removed = overheard("watch", "remove", "1", env=env)

    assert added.returncode == 0, added.stderr
    assert "'acme cloud'" in listed.stdout and "C0123ABCD" in listed.stdout
    assert removed.returncode == 0
    assert "No watches" in overheard("watch", "list", env=env).stdout


def test_watch_pause_then_resume_shows_in_the_list(env: dict[str, str]) -> None:
    overheard("db", "upgrade", env=env)
    overheard("watch", "add", "acme", "--source", "hackernews", "--channel", "C0123ABCD", env=env)

    paused = overheard("watch", "pause", "1", env=env)
    listed_paused = overheard("watch", "list", env=env).stdout
    resumed = overheard("watch", "resume", "1", env=env)
    listed_resumed = overheard("watch", "list", env=env).stdout

    assert paused.returncode == 0 and "Paused watch #1 ('acme')" in paused.stdout
    assert "(paused)" in listed_paused
    assert resumed.returncode == 0 and "Resumed watch #1 ('acme')" in resumed.stdout
    assert "(paused)" not in listed_resumed


@pytest.mark.parametrize("verb", ["pause", "resume"])
def test_pausing_or_resuming_an_unknown_watch_fails_and_says_so(
    env: dict[str, str], verb: str
) -> None:
    overheard("db", "upgrade", env=env)

    result = overheard("watch", verb, "7", env=env)

    assert result.returncode == 2
    assert "no watch with id 7" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["   ", "--source", "hackernews", "--channel", "C0123ABCD"], "query is empty"),
        (["acme", "--source", "hackernews", "--channel", "#support"], "not a Slack channel ID"),
        (["acme", "--source", "myspace", "--channel", "C0123ABCD"], "invalid choice"),
        (
            ["acme", "--source", "hackernews", "--channel", "C0123ABCD", "--interval", "5"],
            "at least 60",
        ),
    ],
)
def test_watch_add_refuses_bad_input_and_writes_nothing(
    env: dict[str, str], args: list[str], message: str
) -> None:
    overheard("db", "upgrade", env=env)

    result = overheard("watch", "add", *args, env=env)

    assert result.returncode != 0
    assert message in result.stderr
    assert "No watches" in overheard("watch", "list", env=env).stdout


def test_commands_refuse_to_run_on_an_unmigrated_database(env: dict[str, str]) -> None:
    result = overheard("worker", "--once", env=env)

    assert result.returncode != 0
    assert "overheard db upgrade" in result.stderr


def test_worker_once_on_the_console_posts_nothing_without_watches(env: dict[str, str]) -> None:
    overheard("db", "upgrade", env=env)

    result = overheard("worker", "--once", env=env)

    assert result.returncode == 0, result.stderr
    assert "0 new mentions, 0 cards posted." in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "rss"], "needs --feed-url"),
        (["--source", "rss", "--feed-url", "http://127.1/feed"], "feed URL refused"),
        (["--source", "rss", "--feed-url", "http://0x7f000001/"], "feed URL refused"),
        (["--source", "rss", "--feed-url", "file:///etc/passwd"], "only http and https"),
        (
            ["--source", "hackernews", "--feed-url", "https://example.com/f"],
            "only for --source rss",
        ),
    ],
)
def test_watch_add_refuses_unsafe_or_misplaced_feed_urls(
    env: dict[str, str], args: list[str], message: str
) -> None:
    overheard("db", "upgrade", env=env)

    result = overheard("watch", "add", "acme", "--channel", "C0123ABCD", *args, env=env)

    assert result.returncode == 2
    assert message in result.stderr
    assert "No watches" in overheard("watch", "list", env=env).stdout


def test_watch_add_on_several_networks_and_sources_status(env: dict[str, str]) -> None:
    overheard("db", "upgrade", env=env)

    added = overheard(
        "watch",
        "add",
        '"acme cloud" OR @acme -jobs',
        "--source",
        "hackernews",
        "--source",
        "x",
        "--channel",
        "C0123ABCD",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    assert "hackernews, x" in added.stdout
    overheard("worker", "--once", env={**env, "OVERHEARD_HACKERNEWS_URL": "http://127.0.0.1:9"})

    status = overheard("sources", "status", env=env)

    assert status.returncode == 1  # something needs attention
    assert "not configured" in status.stdout and "X_BEARER_TOKEN" in status.stdout


def test_feedback_export_writes_the_corrections_as_tsv_to_a_file_or_stdout(
    env: dict[str, str], tmp_path: Path
) -> None:
    overheard("db", "upgrade", env=env)
    engine = make_engine(env["DATABASE_URL"])
    try:
        card_id = make_posted_card(engine)
        with session_scope(engine) as session:
            record_sentiment_feedback(
                card_id, "positive", "UALICE", channel_id=CHANNEL, session=session, now=NOW
            )
    finally:
        engine.dispose()
    output = tmp_path / "feedback.tsv"

    to_file = overheard("feedback", "export", "--output", str(output), env=env)
    to_stdout = overheard("feedback", "export", env=env)

    assert to_file.returncode == 0, to_file.stderr
    assert "1 sentiment corrections written to" in to_file.stderr
    header, row = output.read_text(encoding="utf-8").splitlines()
    assert header == "mention_id\tnetwork\tlabel\tmodel_label\tmodel_polarity\tuser\tat\ttext"
    assert row.split("\t")[1:4] == ["hackernews", "positive", "negative"]
    assert row.split("\t")[5:7] == ["UALICE", "2026-11-26T09:00:00+00:00"]
    assert to_stdout.stdout == output.read_text(encoding="utf-8")


def test_digest_send_posts_the_summary_and_the_chart_to_slack(
    env: dict[str, str], tmp_path: Path
) -> None:
    from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

    overheard("db", "upgrade", env=env)
    engine = make_engine(env["DATABASE_URL"])
    try:
        make_posted_card(engine)
        make_posted_card(engine, external_id="41000002", text="Love the new Acme app!")
    finally:
        engine.dispose()

    with FakeSlack() as fake:
        slack = {**env, "SLACK_BOT_TOKEN": TEST_TOKEN, "SLACK_API_URL": fake.base_url}
        result = overheard(
            "digest", "send", "--channel", CHANNEL, "--date", NOW.date().isoformat(), env=slack
        )

        assert result.returncode == 0, result.stderr
        (message,) = fake.messages(CHANNEL)
        assert message["text"] == (
            "Daily digest · Thu 26 Nov 2026: 2 mentions (1 negative, 1 positive); 2 unclaimed."
        )
        (complete,) = fake.calls_to("files.completeUploadExternal")
        assert complete.args["thread_ts"] == message["ts"]
        assert fake.files[0]["data"].startswith(b"\x89PNG")
    assert f"Digest for 2026-11-26 posted to {CHANNEL}" in result.stdout
    assert "2 mentions (1 negative, 1 positive); with its chart." in result.stdout


def test_digest_at_sets_the_time_and_refuses_a_bad_zone(env: dict[str, str]) -> None:
    overheard("db", "upgrade", env=env)

    good = overheard(
        "digest", "at", "08:30", "--tz", "Europe/Berlin", "--channel", CHANNEL, env=env
    )
    bad = overheard("digest", "at", "08:30", "--tz", "Moon/Base", "--channel", CHANNEL, env=env)

    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == (
        f"{CHANNEL} gets its digest at 08:30 Europe/Berlin, every day, for the day before."
    )
    assert bad.returncode == 2
    assert "'Moon/Base' is not a time zone" in bad.stderr


def test_metrics_prints_the_queue_from_the_database_in_prometheus_text(
    env: dict[str, str],
) -> None:
    assert overheard("db", "upgrade", env=env).returncode == 0
    make_posted_card(make_engine(env["DATABASE_URL"]))

    result = overheard("metrics", env=env)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "# TYPE overheard_queue_depth gauge" in lines
    assert "overheard_queue_depth 0" in lines
    assert 'overheard_cards{state="posted"} 1' in lines


def test_sources_status_says_when_cards_have_waited_long_for_slack(env: dict[str, str]) -> None:
    overheard("db", "upgrade", env=env)
    engine = make_engine(env["DATABASE_URL"])
    make_posted_card(engine)  # posted: not waiting
    watch = make_watch(engine)
    with session_scope(engine) as session:  # queued days ago, never taken by Slack
        ingest_mentions(
            [make_fetched(external_id="7")], watch=watch, authors={}, session=session, now=NOW
        )
    engine.dispose()

    status = overheard("sources", "status", env=env)

    assert status.returncode == 1
    assert "!! Slack: 1 card waiting to post for" in status.stdout
