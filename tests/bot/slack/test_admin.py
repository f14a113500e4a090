"""/overheard's text read as Slack sends it, its replies and the watch modal, without Slack."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bot.services.watches import WatchChange, watch_form
from bot.slack import ids
from bot.slack.admin import (
    FROM_COMMAND,
    AdminInputError,
    WatchModalOrigin,
    build_help_message,
    build_watch_edited,
    build_watch_modal,
    build_watch_paused,
    field_block_id,
    parse_command,
    parse_duration,
    read_watch_origin,
    split_text,
)
from bot.store.models import Watch
from tests.blocks import texts
from tests.factories import NOW
from tests.fakes.slack_api import MAX_VIEW_BLOCKS, validate_blocks


def make_watch(watch_id: int, query: str = "acme", **overrides: Any) -> Watch:
    values: dict[str, Any] = {
        "id": watch_id,
        "query": query,
        "sources": ["hackernews"],
        "channel_id": "C0SUPPORT",
        "created_at": NOW,
    }
    values.update(overrides)
    return Watch(**values)


def test_slacks_escaped_mentions_links_and_characters_become_what_was_typed() -> None:
    tokens = split_text(
        "route add 1 <#C0URGENT|urgent> <!subteam^S0ONCALL|oncall> "
        "<https://a.example/feed?x=1&amp;y=2> “acme &amp; co” &lt;b&gt; G0PRIV"
    )

    assert tokens == [
        "route",
        "add",
        "1",
        "C0URGENT",
        "S0ONCALL",
        "https://a.example/feed?x=1&y=2",
        "acme & co",
        "<b>",
        "G0PRIV",
    ]


def test_unbalanced_quotes_are_refused_with_an_example() -> None:
    with pytest.raises(AdminInputError, match="Unbalanced quotes"):
        split_text("watch add 'acme --source hackernews")


@pytest.mark.parametrize(
    ("text", "name", "changes"),
    [
        ("", "help", False),
        ("help", "help", False),
        ("watch list", "watch list", False),
        ("watch add", "watch form", True),
        ("watch add acme --source hackernews", "watch add", True),
        ("watch edit 3", "watch edit", True),
        ("watch pause 3", "watch pause", True),
        ("watch resume 3", "watch resume", True),
        ("watch remove 3", "watch remove", True),
        ("route list", "route list", False),
        ("route list 3", "route list", False),
        ("route add 3 C0X --reach 10", "route add", True),
        ("route remove 2", "route remove", True),
        ("sla", "sla", False),
        ("sla P2 1h", "sla target", True),
        ("sla escalate none", "sla escalate", True),
        ("digest", "digest", False),
        ("digest at 08:00 UTC", "digest at", True),
        ("stats", "stats", False),
    ],
)
def test_each_subcommand_is_read_and_marked_as_reading_or_changing(
    text: str, name: str, changes: bool
) -> None:
    request = parse_command(text, channel_id="C0HERE")

    assert (request.name, request.changes) == (name, changes)


def test_watch_add_reads_like_the_cli_with_this_channel_by_default() -> None:
    args = parse_command(
        "watch add '\"acme cloud\" -jobs' --source appstore --app-id 123 --country gb",
        channel_id="C0HERE",
    ).args

    assert (args.query, args.source, args.channel, args.interval) == (
        '"acme cloud" -jobs',
        ["appstore"],
        "C0HERE",
        300,
    )
    assert (args.option_app_id, args.option_country) == ("123", "gb")


def test_route_sla_and_digest_arguments_are_read_into_values() -> None:
    route = parse_command(
        "route add 2 C0URGENT --priority p1 --sentiment NEGATIVE --keyword 'charged twice'",
        channel_id="C0HERE",
    ).args
    sla = parse_command("sla P3 90min", channel_id="C0HERE").args
    escalate = parse_command("sla escalate S0ONCALL", channel_id="C0HERE").args
    digest = parse_command("digest at 7:15 Asia/Tokyo weekly", channel_id="C0HERE").args

    assert (route.watch_id, route.channel, route.priority, route.sentiment, route.keyword) == (
        2,
        "C0URGENT",
        1,
        "negative",
        "charged twice",
    )
    assert (sla.priority, sla.target) == (3, timedelta(minutes=90))
    assert escalate.contact == "S0ONCALL"
    assert (digest.at, digest.timezone, digest.weekly, digest.channel) == (
        "7:15",
        "Asia/Tokyo",
        True,
        "C0HERE",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("launch rockets", "I don't know `launch`"),
        ("watch", "Usage: `/overheard watch list|add|edit|pause|resume|remove …`"),
        ("watch add acme --source hackernews --help", "unrecognized arguments: --help"),
        ("route add", "Usage: `/overheard route add WATCH_ID #channel"),
        ("sla P1", "Usage: `/overheard sla"),
        ("digest at 09:00", "Usage: `/overheard digest"),
        ("stats now", "unrecognized arguments: now"),
        ("<!channel> hi", "I don't know `&lt;!channel&gt;`"),
    ],
)
def test_text_that_cant_be_read_says_how_to_write_it(text: str, message: str) -> None:
    with pytest.raises(AdminInputError) as raised:
        parse_command(text, channel_id="C0HERE")

    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("30m", timedelta(minutes=30)),
        ("45 min", timedelta(minutes=45)),
        ("2h", timedelta(hours=2)),
        ("3 hours", timedelta(hours=3)),
        ("1d", timedelta(days=1)),
    ],
)
def test_durations_are_read_in_minutes_hours_or_days(text: str, span: timedelta) -> None:
    assert parse_duration(text) == span


@pytest.mark.parametrize("text", ["soon", "30", "1.5h", "-2h", "2w"])
def test_a_duration_without_a_unit_or_number_is_refused(text: str) -> None:
    with pytest.raises(AdminInputError, match="is not a duration"):
        parse_duration(text)


def test_help_lists_each_watch_and_marks_paused_ones() -> None:
    watches = [
        make_watch(1, "acme cloud", sources=["hackernews", "reddit"]),
        make_watch(2, "globex", enabled=False),
    ]

    body, commands = texts(build_help_message(watches).to_slack()["blocks"])

    assert "• #1 `acme cloud` on hackernews, reddit → <#C0SUPPORT>\n" in body
    assert "• #2 `globex` on hackernews → <#C0SUPPORT> (paused)" in body
    assert "/overheard watch add" in commands and "/score HANDLE" in commands


def test_help_without_watches_says_there_are_none_and_how_to_add_one() -> None:
    body, _commands = texts(build_help_message([]).to_slack()["blocks"])

    assert body.startswith("*No watches yet.*")
    assert '/overheard watch add "acme" --source hackernews' in body


def test_replies_escape_a_query_that_looks_like_slack_markup() -> None:
    hostile = make_watch(1, "<!here> acme & co")

    help_body = texts(build_help_message([hostile]).to_slack()["blocks"])[0]
    paused = build_watch_paused(hostile).text

    assert "<!here>" not in help_body + paused
    assert "`&lt;!here&gt; acme &amp; co`" in help_body
    assert "'&lt;!here&gt; acme &amp; co'" in paused


def test_an_edit_reply_lists_each_change_and_escapes_it() -> None:
    watch = make_watch(4, "acme <b>", channel_id="C0NEWS")
    change = WatchChange(watch, {"query": ("acme", "acme <b>"), "channel": ("C0SUPPORT", "C0NEWS")})

    text = build_watch_edited(change).text

    assert text.startswith("Changed watch #4 'acme &lt;b&gt;' (hackernews → <#C0NEWS>):")
    assert "• query: `acme` → `acme &lt;b&gt;`" in text
    assert "• channel: <#C0SUPPORT> → <#C0NEWS>" in text


def test_the_edit_modal_is_filled_in_and_within_slacks_limits() -> None:
    watch = make_watch(
        7,
        "x" * 500,
        sources=["rss", "appstore"],
        options={"feed_url": "https://a.example/f", "app_id": "123"},
        interval_s=900,
    )
    origin = WatchModalOrigin(7, "C0HERE", FROM_COMMAND)

    view = build_watch_modal(watch_form(), origin, watch)

    assert view["callback_id"] == ids.WATCH_VIEW
    assert view["title"]["text"] == "Edit watch #7"
    assert validate_blocks(view["blocks"], MAX_VIEW_BLOCKS, "/view/blocks") == []
    by_id = {b["block_id"]: b for b in view["blocks"]}
    assert by_id[ids.WATCH_QUERY_BLOCK]["element"]["initial_value"] == "x" * 500
    assert by_id[ids.WATCH_INTERVAL_BLOCK]["element"]["initial_value"] == "900"
    assert [o["value"] for o in by_id[ids.WATCH_SOURCES_BLOCK]["element"]["initial_options"]] == [
        "rss",
        "appstore",
    ]
    feed = by_id[ids.WATCH_OPTION_BLOCK_PREFIX + "feed_url"]
    assert feed["element"]["initial_value"] == "https://a.example/f"
    assert "initial_value" not in by_id[ids.WATCH_OPTION_BLOCK_PREFIX + "site"]["element"]
    assert read_watch_origin(view) == origin
    assert json.loads(view["private_metadata"])["from"] == "command"


def test_a_watch_error_is_shown_beside_the_input_it_names() -> None:
    assert field_block_id("query") == ids.WATCH_QUERY_BLOCK
    assert field_block_id("interval") == ids.WATCH_INTERVAL_BLOCK
    assert field_block_id("feed_url") == ids.WATCH_OPTION_BLOCK_PREFIX + "feed_url"
    assert field_block_id(None) == ids.WATCH_QUERY_BLOCK
