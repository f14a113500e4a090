"""The digest message: what a reader sees, within Block Kit's limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine

from bot.services.digest import Digest, StaffWaits, Waits
from bot.slack.cards import render_card_text
from bot.slack.digest import build_digest, duration, signed
from tests.bot.services.test_digest import DAY, add_card, at, digest_of, seed_week
from tests.fakes.slack_api import validate_blocks


def rendered(digest: Digest, permalinks: dict[int, str] | None = None) -> list[str]:
    return render_card_text(build_digest(digest, permalinks)).splitlines()


def test_the_digest_reads_as_a_summary_of_the_day(sqlite_engine: Engine) -> None:
    ids = seed_week(sqlite_engine)
    digest = digest_of(sqlite_engine)
    links = {ids["top"]: "https://fake.slack.com/archives/C0SUPPORT/p1"}

    lines = rendered(digest, links)

    assert lines[:13] == [
        "Daily digest · Wed 25 Nov 2026",
        "*5 mentions* on Wed 25 Nov (+3 on the day before, +3.9 on the 7-day average)",
        "",
        "*By network*",
        "Hacker News: 2 (±0, avg 0.3)",
        "Reddit: 2 (+2, avg 0.9)",
        "Bluesky: 1 (+1, avg 0.0)",
        "*By sentiment*",
        "😟 negative: 2 (±0, avg 0.3)",
        "😐 neutral: 1 (+1, avg 0.0)",
        "🙂 positive: 1 (+1, avg 0.9)",
        "❔ unknown: 1 (+1, avg 0.0)",
        "*Most reach*",
    ]
    assert lines[13] == (
        "• Reddit · @famous · reach 95 (https://fake.slack.com/archives/C0SUPPORT/p1): acme again"
    )
    assert (
        "⏱️ *Time to claim*: median 20 min, p90 30 min (3 claimed) · *to resolve*: "
        "median 50 min, p90 1 h 30 min (2 resolved)" in lines
    )
    assert "Person 1: claimed 2, median 20 min; resolved 2, median 50 min" in lines
    assert "Person 2: claimed 1, median 10 min" in lines
    assert (
        "⚖️ *Median first response by reach*: low (1–39) 30 min (n=1) · mid (40–69) – · "
        "high (70–100) 10 min (n=2)" in lines
    )
    assert (
        "⏳ *Still open*: 2 unclaimed (oldest waiting 21 h) · 1 claimed, not resolved "
        "(oldest 21 h 50 min)" in lines
    )
    assert lines[-1] == "Times in UTC. Mentions per hour in the thread."


def test_staff_are_named_only_where_the_team_turned_it_on(sqlite_engine: Engine) -> None:
    seed_week(sqlite_engine)

    named = rendered(digest_of(sqlite_engine, name_staff=True))

    assert "@UALICE: claimed 2, median 20 min; resolved 2, median 50 min" in named
    blocks = build_digest(digest_of(sqlite_engine, name_staff=True)).to_slack()["blocks"]
    assert any("<@UALICE>" in str(block) for block in blocks)
    assert not any("UALICE" in str(b) for b in build_digest(digest_of(sqlite_engine)).blocks)


def test_a_marked_fairness_gap_is_called_out(sqlite_engine: Engine) -> None:
    for i in range(3):
        add_card(
            sqlite_engine,
            at(DAY, 9 + i),
            reach=5,
            handle=f"s{i}",
            claimed=("UA", timedelta(minutes=60)),
        )
        add_card(
            sqlite_engine,
            at(DAY, 14 + i),
            reach=99,
            handle=f"b{i}",
            claimed=("UA", timedelta(minutes=5)),
        )

    lines = rendered(digest_of(sqlite_engine))

    assert "⚠️ Low-reach authors waited markedly longer: reach must never buy service." in lines


def test_an_empty_day_is_one_line_not_a_table_of_zeros(sqlite_engine: Engine) -> None:
    lines = rendered(digest_of(sqlite_engine))

    assert lines == [
        "Daily digest · Wed 25 Nov 2026",
        "No mentions and nothing answered on Wed 25 Nov.",
        "Times in UTC.",
    ]


def test_outside_text_is_escaped_and_every_limit_holds(sqlite_engine: Engine) -> None:
    seed_week(sqlite_engine)
    add_card(
        sqlite_engine, at(DAY, 16), reach=99, handle="<!channel>", text="<!here> " + "x" * 5000
    )
    digest = digest_of(sqlite_engine)
    many = tuple(StaffWaits(f"U{i:03d}", Waits(1, 60, 60), Waits()) for i in range(40))

    message = build_digest(replace(digest, staff=many, name_staff=True)).to_slack()

    assert validate_blocks(message["blocks"]) == []
    assert "<!channel>" not in str(message) and "<!here>" not in str(message)
    assert "and 30 more" in render_card_text(build_digest(replace(digest, staff=many)))


def test_waits_read_to_the_minute() -> None:
    assert [duration(s) for s in (None, 30, 60, 5400, 7200, 90000, 86400)] == [
        "–",
        "under a minute",
        "1 min",
        "1 h 30 min",
        "2 h",
        "1 d 1 h",
        "1 d",
    ]


def test_deltas_are_signed() -> None:
    assert [signed(3), signed(-2), signed(0), signed(0.04), signed(-1.5)] == [
        "+3",
        "−2",
        "±0",
        "±0",
        "−1.5",
    ]
