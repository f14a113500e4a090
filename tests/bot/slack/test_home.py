"""The Home view: what it shows, its buttons, and Slack's limits whatever there is to show."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.services.health import HealthRow
from bot.services.home import Board, HomeCard, HomeList, WatchStatus, home_for
from bot.services.stats import Numbers
from bot.slack import ids
from bot.slack.home import build_home_view, build_notice_message, view_fingerprint
from bot.store.models import AdminNotice, Watch
from tests.blocks import mrkdwn_texts
from tests.fakes.slack_api import MAX_VIEW_BLOCKS, validate_blocks

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
WORKSPACE = "https://acme.slack.com/"
HOSTILE = "<!channel> <!here> <@U0ADMIN> <#C0GENERAL> <https://evil.example|x> & " * 30


def numbers(**overrides: Any) -> Numbers:
    values: dict[str, Any] = {
        "since": NOW - timedelta(days=1),
        "until": NOW,
        "mentions": 12,
        "by_sentiment": {"negative": 3, "neutral": 7, "positive": 2},
        "by_network": {"hackernews": 9, "reddit": 3},
        "claimed": 4,
        "resolved": 2,
        "dismissed": 1,
        "unclaimed_now": 5,
        "open_now": 8,
        "median_claim_s": 14 * 60,
    }
    values.update(overrides)
    return Numbers(**values)


def card(
    n: int, *, priority: int | None = 2, text: str = "Acme double charged me", **kw: Any
) -> HomeCard:
    values: dict[str, Any] = {
        "card_id": n,
        "channel_id": "C0SUPPORT",
        "message_ts": f"1700000000.{n:06d}",
        "thread_ts": f"1700000000.{n:06d}",
        "priority": priority,
        "network": "hackernews",
        "author": "kestrel",
        "snippet": text,
        "age": timedelta(minutes=12),
    }
    values.update(kw)
    return HomeCard(**values)


def watch(n: int, query: str = "acme", *, enabled: bool = True) -> Watch:
    return Watch(
        id=n,
        query=query,
        sources=["hackernews", "rss"],
        channel_id="C0SUPPORT",
        interval_s=300,
        enabled=enabled,
        created_at=NOW,
    )


def notice(kind: str = "not_in_channel", channel: str = "C0SUPPORT", **kw: Any) -> AdminNotice:
    return AdminNotice(
        key=f"{kind}:{channel}",
        kind=kind,
        channel_id=channel,
        message=f"overheard is not a member of channel {channel}: /invite @overheard",
        first_at=NOW,
        last_at=NOW,
        **kw,
    )


def home(
    *,
    mine: list[HomeCard] | None = None,
    queue: list[HomeCard] | None = None,
    watches: list[WatchStatus] | None = None,
    notices: list[AdminNotice] | None = None,
    pages: dict[HomeList, int] | None = None,
    admins_configured: bool = True,
    flash: str | None = None,
) -> Any:
    queue = queue or []
    board = Board(
        queue=tuple(queue),
        queue_total=len(queue),
        watches=tuple(watches or []),
        numbers=numbers(),
        notices=tuple(notices or []),
    )
    return home_for(
        "UALICE",
        board,
        mine or [],
        pages=pages or {},
        admins_configured=admins_configured,
        flash=flash,
    )


def buttons(view: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, action_id, value) of every button, top to bottom."""
    return [
        (e["text"]["text"], e["action_id"], e.get("value", ""))
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def headers(view: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]


def test_the_home_lists_my_cards_then_the_queue_with_priority_age_and_a_link() -> None:
    mine = [card(1, priority=1, age=timedelta(hours=3), author="ana")]
    queue = [card(2, priority=1, age=timedelta(minutes=5)), card(3, priority=3, author=None)]

    view = build_home_view(home(mine=mine, queue=queue), workspace_url=WORKSPACE)

    texts = mrkdwn_texts(view["blocks"])
    assert view["type"] == "home"
    assert headers(view) == [
        "overheard",
        "Claimed by you (1)",
        "Waiting for someone to claim them (2)",
        "Watches (0)",
    ]
    (my_line,) = [t for t in texts if "ana" in t]
    assert "*P1*" in my_line and "Hacker News · ana" in my_line
    assert "claimed 3 h ago" in my_line
    assert "<https://acme.slack.com/archives/C0SUPPORT/p1700000000000001|open>" in my_line
    queue_lines = [t for t in texts if "waiting" in t and "*P" in t]
    assert ["*P1*" in queue_lines[0], "*P3*" in queue_lines[1]] == [True, True]
    assert "waiting 5 min" in queue_lines[0] and "in <#C0SUPPORT>" in queue_lines[0]


def test_a_card_posted_in_a_thread_links_to_its_place_in_the_thread() -> None:
    reply = card(7, thread_ts="1700000000.000001")

    view = build_home_view(home(queue=[reply]), workspace_url=WORKSPACE)

    assert (
        "<https://acme.slack.com/archives/C0SUPPORT/p1700000000000007"
        "?thread_ts=1700000000.000001&amp;cid=C0SUPPORT|open>"
    ) in json.dumps(view)


def test_without_the_workspace_url_cards_show_no_link() -> None:
    view = build_home_view(home(queue=[card(1)]), workspace_url=None)

    assert "|open>" not in json.dumps(view)


def test_each_watch_shows_its_health_and_pause_or_resume_and_edit() -> None:
    health = (
        HealthRow(1, "hackernews", "ok", "last success 2 min ago · 0 failures in a row", False),
        HealthRow(1, "rss", "failing", "last error: HTTP 503 <from feed>", True),
    )
    statuses = [WatchStatus(watch(1), health), WatchStatus(watch(2, enabled=False), ())]

    view = build_home_view(home(watches=statuses))

    text = "\n".join(mrkdwn_texts(view["blocks"]))
    assert "*#1* `acme` → <#C0SUPPORT> · every 5 min" in text
    assert ":white_check_mark: Hacker News: *ok* · last success 2 min ago" in text
    assert ":warning: RSS: *failing* · last error: HTTP 503 &lt;from feed&gt;" in text
    assert "*#2* `acme` → <#C0SUPPORT> · every 5 min · :double_vertical_bar: *paused*" in text
    assert buttons(view) == [
        ("Add a watch", ids.HOME_ADD_WATCH, "add"),
        ("Pause", ids.HOME_PAUSE_WATCH, "1"),
        ("Edit", ids.HOME_EDIT_WATCH, "1"),
        ("Resume", ids.HOME_RESUME_WATCH, "2"),
        ("Edit", ids.HOME_EDIT_WATCH, "2"),
    ]


def test_the_numbers_of_the_last_day_are_shown() -> None:
    text = "\n".join(mrkdwn_texts(build_home_view(home())["blocks"]))

    assert "*Last 24 hours:* 12 mentions (negative 3 · neutral 7 · positive 2)" in text
    assert "From Hacker News 9 · Reddit 3" in text
    assert "4 claimed · 2 resolved · 1 dismissed · median time to claim: 14 min" in text
    assert "*Now:* 5 waiting for a claim · 8 open" in text


def test_notices_come_first_with_their_fix_and_say_who_gets_them_by_dm() -> None:
    unset = build_home_view(home(notices=[notice(count=3)], admins_configured=False))
    configured = build_home_view(home(notices=[notice()], admins_configured=True))

    texts = mrkdwn_texts(unset["blocks"])
    assert texts[0].startswith(":rotating_light: *Needs an admin*")
    assert "overheard is not a member of <#C0SUPPORT>: /invite @overheard" in texts[0]
    assert "_(seen 3 times)_" in texts[0]
    assert "`OVERHEARD_ADMINS`" in texts[1]
    assert "OVERHEARD_ADMINS" not in json.dumps(configured)


def test_no_notice_no_admin_section() -> None:
    assert "Needs an admin" not in json.dumps(build_home_view(home()))


def test_a_flash_line_shows_first_and_does_not_change_the_fingerprint() -> None:
    plain = build_home_view(home(queue=[card(1)]))
    flashed = build_home_view(home(queue=[card(1)], flash="Sorry, admins only."))

    assert mrkdwn_texts(flashed["blocks"])[0] == "Sorry, admins only."
    assert view_fingerprint(plain) != view_fingerprint(flashed)  # the service leaves it out
    assert view_fingerprint(plain) == view_fingerprint(build_home_view(home(queue=[card(1)])))


def test_long_lists_page_with_previous_and_next_holding_the_list_and_page() -> None:
    queue = [card(n, text=f"mention {n:02d}") for n in range(1, 41)]  # 15 a page: 3 pages

    first = build_home_view(home(queue=queue))
    second = build_home_view(home(queue=queue, pages={HomeList.QUEUE: 2}))
    last = build_home_view(home(queue=queue, pages={HomeList.QUEUE: 99}))

    assert "Waiting for someone to claim them (40) · page 1 of 3" in headers(first)
    assert [b for b in buttons(first) if b[1].startswith(ids.HOME_PAGE)] == [
        ("Next →", ids.HOME_PAGE_NEXT, "queue:2")
    ]
    assert [b for b in buttons(second) if b[1].startswith(ids.HOME_PAGE)] == [
        ("← Previous", ids.HOME_PAGE_PREVIOUS, "queue:1"),
        ("Next →", ids.HOME_PAGE_NEXT, "queue:3"),
    ]
    assert "page 3 of 3" in " ".join(headers(last))  # a page past the end shows the last
    shown = [t.rsplit("\n", 1)[-1] for t in mrkdwn_texts(second["blocks"]) if "waiting 12" in t]
    assert shown == [f"mention {n}" for n in range(16, 31)]


def test_a_huge_hostile_workload_stays_within_block_kit_limits() -> None:
    queue = [card(n, priority=n % 4 + 1, text=HOSTILE, author=HOSTILE) for n in range(500)]
    mine = [card(n, text=HOSTILE, author=HOSTILE) for n in range(500, 560)]
    health = tuple(
        HealthRow(n, network, "failing", "last error: " + HOSTILE, True)
        for n in range(1, 61)
        for network in ("hackernews", "reddit", "rss", "x", "bluesky", "mastodon")
    )
    statuses = [WatchStatus(watch(n, HOSTILE), health[:8]) for n in range(1, 61)]
    notices = [notice("is_archived", f"C{n:08d}", count=n) for n in range(5)]

    for pages in ({}, {HomeList.QUEUE: 34, HomeList.MINE: 6, HomeList.WATCHES: 8}):
        data = home(
            mine=mine,
            queue=queue,
            watches=statuses,
            notices=notices,
            pages=pages,
            admins_configured=False,
            flash="Sorry.",
        )
        view = build_home_view(data, workspace_url=WORKSPACE)

        assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
        assert validate_blocks(view["blocks"], MAX_VIEW_BLOCKS, "/view/blocks") == []
        sent = json.dumps(mrkdwn_texts(view["blocks"]))
        for forbidden in ("<!channel>", "<!here>", "<@U0ADMIN>", "<#C0GENERAL>", "<https://evil"):
            assert forbidden not in sent
        for block in view["blocks"]:
            if block["type"] == "actions":  # Slack wants action ids unique within a block
                action_ids = [e["action_id"] for e in block["elements"]]
                assert len(action_ids) == len(set(action_ids))


def test_the_notice_dm_says_what_is_wrong_and_how_to_fix_it() -> None:
    message = build_notice_message(notice()).to_slack()

    assert "overheard is not a member of <#C0SUPPORT>: /invite @overheard" in message["text"]
    assert "Home tab" in json.dumps(message["blocks"])
    assert validate_blocks(message["blocks"]) == []
