"""The /score reply: what it shows, within Slack's limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.services.authors import apply_metrics
from bot.slack.views import MAX_AUTHORS_SHOWN, build_score_message
from bot.sources.base import FetchedAuthor
from bot.store.models import Author
from tests.blocks import texts

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TEXT_MAX_CHARS = 3000


def scored_author(network: str = "hackernews", handle: str = "pg", **metrics: Any) -> Author:
    """An author scored the way the pipeline scores one."""
    author = Author(network=network, external_id=handle, handle=handle)
    fetched = FetchedAuthor(handle=handle, **(metrics or {"karma": 157_000}))
    apply_metrics(author, fetched, now=NOW, fresh=True)
    return author


def test_score_shows_factor_points_that_add_up_to_the_reach() -> None:
    author = scored_author(karma=157_000, created_at=NOW - timedelta(days=6000))

    (section, _note) = build_score_message("pg", [author]).to_slack()["blocks"]

    body = section["text"]["text"]
    shown = int(re.search(r"reach \*(\d+)/100\*", body).group(1))  # type: ignore[union-attr]
    points = [int(p) for p in re.findall(r"→ (\d+) pts?", body)]
    assert shown == author.score
    assert len(points) > 2 and sum(points) == shown
    assert "karma: 157,000 →" in body and "account age: 6,000 days →" in body


def test_score_says_which_metrics_are_unknown_and_how_sure_it_is() -> None:
    author = scored_author(karma=40)

    body = build_score_message("pg", [author]).to_slack()["blocks"][0]["text"]["text"]

    assert "• base: every author → 1 pt\n" in body
    assert "account age: not known → 0 pts" in body
    assert "unknown" not in body
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
