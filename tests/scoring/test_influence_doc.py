"""docs/scoring.md and scoring/influence.py are one formula: every reach table is recomputed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scoring.influence import AuthorMetrics, score

DOC = Path(__file__).resolve().parents[2] / "docs" / "scoring.md"
NOW = datetime(2026, 1, 1, tzinfo=UTC)  # the examples' date
NETWORK_NAMES = {
    "X": "x",
    "Bluesky": "bluesky",
    "Mastodon": "mastodon",
    "Reddit": "reddit",
    "Hacker News": "hackernews",
    "Stack Exchange": "stackexchange",
}
# How the examples' points column names each factor.
SHORT_NAMES = {"median engagement": "engagement", "account age (days)": "age"}
UNKNOWN = "–"


def section(title: str) -> str:
    """The doc's text under a `### title` heading, up to the next heading."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"### {title}")
    end = re.compile(r"^#{2,3} ", re.MULTILINE).search(text, start + 4)
    return text[start : end.start() if end else len(text)]


def table(title: str) -> list[list[str]]:
    """The rows of the first table under a heading, cells stripped, header and rule dropped."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section(title).splitlines()
        if line.startswith("|")
    ]
    assert len(rows) > 2, f"no table under {title!r}"
    return rows[2:]


def number(text: str) -> int | None:
    return None if text == UNKNOWN else int(text.replace(",", ""))


def audience(network: str, count: int) -> dict[str, int]:
    """The field that carries `count` as the network's audience."""
    karma = network in ("reddit", "hackernews", "stackexchange")
    return {"karma" if karma else "followers": count}


def example_metrics(row: list[str]) -> AuthorMetrics:
    network, shown_audience, engagement, posts, age, verified = row[:6]
    fields: dict[str, Any] = {"posts": number(posts)}
    if shown_audience != UNKNOWN:
        count, field = shown_audience.split(" ")
        fields[field] = number(count)
    if engagement != UNKNOWN:
        median, sample = re.fullmatch(r"([\d,.]+) \((\d+) posts\)", engagement).groups()  # type: ignore[union-attr]
        fields["median_engagement"] = float(median.replace(",", ""))
        fields["engagement_sample"] = int(sample)
    if age != UNKNOWN:
        fields["account_created"] = NOW - timedelta(days=number(age) or 0)
    if verified != UNKNOWN:
        fields["verified"] = verified == "yes"
    return AuthorMetrics(network, **fields)


EXAMPLES = table("Worked examples")


@pytest.mark.parametrize("row", EXAMPLES, ids=[" ".join(r[:3]) for r in EXAMPLES])
def test_every_worked_example_is_what_the_code_computes(row: list[str]) -> None:
    result = score(example_metrics(row), now=NOW)
    value, confidence, points = row[6:9]

    shown = [f"{SHORT_NAMES.get(f.name, f.name)} {f.points}" for f in result.factors if f.points]
    assert (result.value, result.confidence, " · ".join(shown)) == (
        int(value),
        confidence,
        points,
    )
    assert sum(int(p.rsplit(" ", 1)[1]) for p in points.split(" · ")) == int(value)


REACH_ROWS = table("Reach by audience")
AUDIENCES = [0, 10, 100, 1_000, 10_000, 100_000, 10**6, 10**7, 10**8]


@pytest.mark.parametrize("row", REACH_ROWS, ids=[r[0] for r in REACH_ROWS])
def test_the_reach_by_audience_table_is_what_the_code_computes(row: list[str]) -> None:
    network = NETWORK_NAMES[row[0].split(" (")[0]]

    computed = [
        score(
            AuthorMetrics(
                network,
                following=100,
                posts=2_000,
                account_created=NOW - timedelta(days=3_000),
                **audience(network, count),
            ),
            now=NOW,
        ).value
        for count in AUDIENCES
    ]

    assert [int(cell) for cell in row[1:]] == computed


ANCHORS = table("Scale anchors")


@pytest.mark.parametrize("row", ANCHORS, ids=[r[0] for r in ANCHORS])
def test_every_scale_anchor_is_the_range_credibility_allows(row: list[str]) -> None:
    network = NETWORK_NAMES[row[0]]
    for cell in row[1:]:
        count, low, high = re.fullmatch(r"([\d,]+) \w+: (\d+)–(\d+)", cell).groups()  # type: ignore[union-attr]
        bare = AuthorMetrics(network, **audience(network, int(count.replace(",", ""))))
        credible = AuthorMetrics(
            network,
            posts=10**7,
            account_created=datetime(1990, 1, 1, tzinfo=UTC),
            verified=True,
            **audience(network, int(count.replace(",", ""))),
        )

        assert (score(bare, now=NOW).value, score(credible, now=NOW).value) == (
            int(low),
            int(high),
        ), cell


def test_the_doc_names_the_formula_version_the_code_stores() -> None:
    version = score(AuthorMetrics("x"), now=NOW).formula_version

    assert f"`formula_version` reads `{version}`" in section("What the scale is computed against")
