"""`overheard preview`: tune a query against live results before saving it; nothing is stored."""

from __future__ import annotations

import pytest

from bot.console import render_preview
from bot.services.preview import preview_cards
from bot.services.watches import WatchError
from bot.sources.base import FetchedAuthor, FetchResult
from tests.bot.services.test_fetching import ScriptedSource
from tests.factories import NOW, make_fetched


def test_preview_prints_matching_cards_newest_first_with_scores() -> None:
    source = ScriptedSource(
        FetchResult(
            [
                make_fetched(external_id="1", text="Acme refund please, charged twice"),
                make_fetched(external_id="2", text="unrelated post about cats"),
                make_fetched(external_id="3", text="I love acme", created_at=NOW.replace(hour=10)),
            ],
            {},
        )
    )

    report = preview_cards("acme", ["hackernews"], {"hackernews": source}, options={}, now=NOW)

    text = "\n".join(render_preview(report))
    assert len(report.cards) == 2 and report.errors == {}
    assert text.index("I love acme") < text.index("charged twice")  # newest first
    assert "cats" not in text
    assert "reach" in text and "/100" in text  # the author's score, from their metrics
    assert "nothing was stored or posted" in text
    assert source.author_lookups == ["kestrel", "kestrel"]


def test_preview_reports_a_failing_network_and_still_shows_the_others() -> None:
    from bot.sources.base import SourceError

    good = ScriptedSource(FetchResult([make_fetched(text="acme rocks")], {}))
    bad = ScriptedSource(SourceError("Reddit not configured: set REDDIT_CLIENT_ID"))
    bad.name = "reddit"

    report = preview_cards(
        "acme", ["hackernews", "reddit"], {"hackernews": good, "reddit": bad}, options={}, now=NOW
    )

    assert len(report.cards) == 1
    assert report.errors == {"reddit": "Reddit not configured: set REDDIT_CLIENT_ID"}


@pytest.mark.parametrize(
    ("query", "networks", "options", "message"),
    [
        ('"acme', ["hackernews"], {}, "not closed"),
        ("acme", ["rss"], {}, "needs --feed-url"),
        ("acme", ["rss"], {"feed_url": "http://169.254.169.254/feed"}, "refused"),
        ("acme", ["appstore"], {"app_id": "abc"}, "needs --app-id"),
    ],
)
def test_preview_refuses_what_a_watch_would_refuse(
    query: str, networks: list[str], options: dict[str, str | None], message: str
) -> None:
    with pytest.raises(WatchError, match=message):
        preview_cards(query, networks, {}, options=options, now=NOW)


def test_author_metrics_from_search_are_used_when_the_lookup_has_none() -> None:
    class NoLookup(ScriptedSource):
        def fetch_author(self, handle: str) -> FetchedAuthor | None:
            return None

    item = make_fetched(
        network="x", text="acme", author=FetchedAuthor(handle="big", followers=5_000_000)
    )
    source = NoLookup(FetchResult([item], {}))
    source.name = "x"

    report = preview_cards("acme", ["x"], {"x": source}, options={}, now=NOW)

    assert len(report.cards) == 1
    assert "reach 1/100" not in "\n".join(render_preview(report))
