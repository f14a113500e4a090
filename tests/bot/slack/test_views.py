"""The /score reply and the Home tab: what they show, within Slack's limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.services.authors import apply_metrics
from bot.services.health import HealthRow
from bot.slack.views import (
    MAX_AUTHORS_SHOWN,
    MAX_HEALTH_LINES,
    build_home_view,
    build_score_message,
)
from bot.sources.base import FetchedAuthor
from bot.store.models import Author, Watch
from tests.fakes.slack_api import MAX_VIEW_BLOCKS, validate_blocks

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TEXT_MAX_CHARS = 3000


def scored_author(network: str = "hackernews", handle: str = "pg", **metrics: Any) -> Author:
    """An author scored the way the pipeline scores one."""
    author = Author(network=network, external_id=handle, handle=handle)
    fetched = FetchedAuthor(handle=handle, **(metrics or {"karma": 157_000}))
    apply_metrics(author, fetched, now=NOW, fresh=True)
    return author


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


def texts(node: Any) -> list[str]:
    """Every text string in a block tree."""
    if isinstance(node, list):
        return [t for item in node for t in texts(item)]
    if isinstance(node, dict):
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        return own + [t for value in node.values() for t in texts(value)]
    return []


def test_score_shows_factor_points_that_add_up_to_the_reach() -> None:
    author = scored_author(karma=157_000, created_at=NOW - timedelta(days=6000))

    (section, _note) = build_score_message("pg", [author]).to_slack()["blocks"]

    body = section["text"]["text"]
    shown = int(re.search(r"reach \*(\d+)/100\*", body).group(1))  # type: ignore[union-attr]
    points = [int(p) for p in re.findall(r"→ (\d+) pts", body)]
    assert shown == author.score
    assert len(points) > 2 and sum(points) == shown
    assert "karma: 157,000 →" in body and "account age (days): 6,000 →" in body


def test_score_says_which_metrics_are_unknown_and_how_sure_it_is() -> None:
    author = scored_author(karma=40)

    body = build_score_message("pg", [author]).to_slack()["blocks"][0]["text"]["text"]

    assert "account age (days): unknown → 0 pts" in body
    assert author.score_breakdown is not None
    assert f"confidence {author.score_breakdown['confidence']}_" in body


def test_score_shows_each_network_the_handle_is_seen_on() -> None:
    authors = [
        scored_author("hackernews", karma=157_000),
        scored_author("mastodon", followers=120, posts=30),
    ]

    message = build_score_message("pg", authors)

    bodies = [b["text"]["text"] for b in message.to_slack()["blocks"][:2]]
    assert "on Hacker News" in bodies[0] and "on Mastodon" in bodies[1]
    assert "followers 120 · posts 30" in bodies[1]
    assert message.text == f"pg: reach {authors[0].score}/100"


def test_score_lists_at_most_ten_authors_and_says_what_reach_is_for() -> None:
    authors = [scored_author(handle="pg", karma=k) for k in range(1, 16)]

    blocks = build_score_message("pg", authors).to_slack()["blocks"]

    assert len(blocks) == MAX_AUTHORS_SHOWN + 1
    assert "never whether it is shown" in blocks[-1]["elements"][0]["text"]


def test_score_for_an_author_not_yet_scored_says_so() -> None:
    author = Author(network="hackernews", external_id="pg", handle="pg")

    message = build_score_message("pg", [author]).to_slack()
    body = message["blocks"][0]["text"]["text"]

    assert "reach not scored yet" in body and "pts" not in body
    assert message["text"] == "pg: reach not scored yet"  # the notification, not "None/100"


def test_score_escapes_names_and_handles_from_outside() -> None:
    author = scored_author(handle="<@U0ADMIN>", karma=10)
    author.display_name = "<!channel> & co"

    message = build_score_message("<@U0ADMIN>", [author])

    sent = json.dumps([texts(message.to_slack()["blocks"]), message.text])
    assert "<!channel>" not in sent and "<@U0ADMIN>" not in sent
    assert "&lt;!channel&gt; &amp; co" in sent and "&lt;@U0ADMIN&gt;" in sent


def test_home_shows_how_many_mentions_wait_and_the_watches() -> None:
    view = build_home_view([make_watch(1)], 7, [])

    shown = "\n".join(texts(view["blocks"]))
    assert view["type"] == "home"
    assert "*7* mentions are waiting for someone to claim them." in shown
    assert "`acme` on hackernews → <#C0SUPPORT>" in shown
    assert "Not listening everywhere" not in shown


def test_home_warns_only_about_flagged_networks() -> None:
    health = [
        HealthRow(1, "hackernews", "ok", "last success just now", flagged=False),
        HealthRow(1, "x", "not configured", "set X_BEARER_TOKEN", flagged=True),
        HealthRow(2, "reddit", "silent", "last new mention 9 d ago", flagged=True),
    ]

    shown = texts(build_home_view([make_watch(1)], 0, health)["blocks"])

    (warning,) = [text for text in shown if "Not listening everywhere" in text]
    assert "watch #1 on x: *not configured* (set X_BEARER_TOKEN)" in warning
    assert "watch #2 on reddit: *silent*" in warning
    assert "hackernews" not in warning


def test_home_lists_at_most_ten_flagged_networks() -> None:
    health = [HealthRow(i, "hackernews", "failing", "HTTP 503", flagged=True) for i in range(15)]

    shown = "\n".join(texts(build_home_view([], 0, health)["blocks"]))

    assert shown.count(": *failing*") == MAX_HEALTH_LINES


def test_home_stays_within_block_kit_limits_however_much_there_is_to_show() -> None:
    hostile = "<!channel> & <@U0ADMIN> " * 40
    watches = [make_watch(i, hostile, enabled=i % 2 == 0) for i in range(1, 301)]
    health = [
        HealthRow(i, "hackernews", "failing", "last error: " + "<&>" * 300, flagged=True)
        for i in range(40)
    ]

    view = build_home_view(watches, 123_456, health)

    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
    assert all(len(text) <= TEXT_MAX_CHARS for text in texts(view["blocks"]))
    assert validate_blocks(view["blocks"], MAX_VIEW_BLOCKS, "/view/blocks") == []
    assert "<!channel>" not in json.dumps(view)
