"""Mention cards: outside text stays inert, every state has its buttons, limits always hold."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block, HeaderBlock, PlainTextObject

from bot.services.chat import ThreadActivity
from bot.slack import ids
from bot.slack.cards import (
    Message,
    build_already_claimed_message,
    build_mention_card,
    build_thread_note,
    render_card_text,
)
from bot.store.models import Author, Card, CardState, EventKind, Mention

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CREATED = NOW - timedelta(hours=2)
POST_URL = "https://news.ycombinator.com/item?id=1"
AUTHOR_URL = "https://news.ycombinator.com/user?id=pg"
# How each network is named on a card (the console demo's samples too).
NETWORK_NAMES = {
    "hackernews": "Hacker News",
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "reddit": "Reddit",
    "x": "X",
    "rss": "RSS",
    "appstore": "App Store",
    "stackexchange": "Stack Exchange",
    "sample": "Sample",
}
CLAIMER = "U0CLAIMER"
CLOSER = "U0CLOSER"

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<#C123>",
    "<!subteam^S123>",
    "<https://evil.example|click>",
]

# A generated `<…>` is one of these; anything else in mrkdwn came from outside text.
DATE_TOKEN = re.compile(
    r"!date\^-?\d+\^\{date_short_pretty\} at \{time\}\|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
)
SLACK_USER = re.compile(r"[UW][A-Z0-9]+")
TOKEN = re.compile(r"<([^<>]*)>")
ENTITY = re.compile(r"&(?:amp|lt|gt);")


def make_mention(**overrides: Any) -> Mention:
    fields: dict[str, Any] = {
        "id": 11,
        "network": "hackernews",
        "external_id": "1",
        "url": POST_URL,
        "title": None,
        "text": "Overheard keeps our support queue honest.",
        "created_at": CREATED,
        "fetched_at": NOW,
        "sentiment_polarity": -0.42,
        "sentiment_label": "negative",
        "priority": 2,
    }
    fields.update(overrides)
    return Mention(**fields)


def make_author(**overrides: Any) -> Author:
    fields: dict[str, Any] = {
        "id": 5,
        "network": "hackernews",
        "external_id": "pg",
        "handle": "pg",
        "display_name": None,
        "url": AUTHOR_URL,
        "score": 57,
    }
    fields.update(overrides)
    return Author(**fields)


def make_card_row(**overrides: Any) -> Card:
    fields: dict[str, Any] = {
        "id": 7,
        "mention_id": 11,
        "channel_id": "C0CARDS",
        "state": CardState.POSTED,
        "queued_at": NOW - timedelta(minutes=70),
        "posted_at": NOW - timedelta(minutes=65),
        "version": 3,
    }
    fields.update(overrides)
    return Card(**fields)


def make_card(
    *,
    mention: Mention | None = None,
    author: Author | None = None,
    card_row: Card | None = None,
) -> Message:
    return build_mention_card(
        mention or make_mention(),
        author or make_author(),
        card_row or make_card_row(),
    )


def blocks_of(card: Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = card.to_slack()["blocks"]
    return blocks


def block(card: Message, suffix: str) -> dict[str, Any]:
    (found,) = [b for b in blocks_of(card) if b["block_id"].endswith(f"-{suffix}")]
    return found


def block_text(card: Message, suffix: str) -> str:
    found = block(card, suffix)
    text_object = found["elements"][0] if found["type"] == "context" else found["text"]
    text: str = text_object["text"]
    return text


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    """Yield every text object in a serialized payload."""
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn"):
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from text_objects(item)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def assert_within_limits(card: Message) -> None:
    payload = card.to_slack()
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= 50
    assert 1 <= len(payload["text"]) <= 3000
    for text_object in text_objects(blocks):
        assert 1 <= len(text_object["text"]) <= 3000
        assert utf16_len(text_object["text"]) <= 3000
    for b in blocks:
        assert len(b["block_id"]) <= 255
        if b["type"] == "header":
            assert b["text"]["type"] == "plain_text"
            assert utf16_len(b["text"]["text"]) <= 150
        elif b["type"] == "section":
            assert len(b.get("fields", [])) <= 10
            for field in b.get("fields", []):
                assert utf16_len(field["text"]) <= 2000
        elif b["type"] == "context":
            assert len(b["elements"]) <= 10
        elif b["type"] == "actions":
            assert len(b["elements"]) <= 25
            for element in b["elements"]:
                if element["type"] == "button":
                    assert len(element["text"]["text"]) <= 75
                    assert len(element["value"]) <= 2000
                else:
                    assert element["type"] == "overflow"
                    assert 2 <= len(element["options"]) <= 5
                    for option in element["options"]:
                        assert len(option["text"]["text"]) <= 75
                        assert len(option["value"]) <= 150


def assert_outside_text_is_inert(
    card: Message, *, users: set[str] = frozenset(), link_targets: set[str] = frozenset()
) -> None:
    """Check every `<…>` in mrkdwn (and the fallback) is one we generate, and `&` is escaped.

    Outside text may only reach Slack escaped (mrkdwn) or as plain_text, which Slack never
    parses; so the only control sequences allowed are the date, the given users and links
    to the given targets.
    """
    payload = card.to_slack()
    mrkdwn = [t["text"] for t in text_objects(payload["blocks"]) if t["type"] == "mrkdwn"]
    for text in [*mrkdwn, payload["text"]]:
        for token in TOKEN.findall(text):
            target, _, _label = token.partition("|")
            is_user = target.startswith("@") and target[1:] in users
            assert DATE_TOKEN.fullmatch(token) or is_user or target in link_targets, (
                f"unexpected control sequence <{token}> in {text!r}"
            )
        rest = TOKEN.sub("", text)
        assert "<" not in rest
        assert ">" not in rest
        assert "&" not in ENTITY.sub("", text), f"unescaped & in {text!r}"
    for b in payload["blocks"]:
        # Only the header (the title) and the fixed button labels are plain_text.
        for t in text_objects(b):
            if t["type"] == "plain_text":
                assert b["type"] in ("header", "actions")
    for t in text_objects(payload["blocks"]):
        if t["type"] == "mrkdwn":
            assert t["verbatim"] is True


# --- outside text -------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_post_text_is_escaped_and_inert(hostile: str) -> None:
    card = make_card(mention=make_mention(text=f"hey {hostile} look"))

    escaped = hostile.replace("<", "&lt;").replace(">", "&gt;")
    assert block_text(card, "body") == f"hey {escaped} look"
    assert_outside_text_is_inert(card, link_targets={POST_URL, AUTHOR_URL})


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_author_name_and_handle_are_escaped_in_the_link_label(hostile: str) -> None:
    for author in (make_author(display_name=f"{hostile} *bold*"), make_author(handle=hostile)):
        card = make_card(author=author)

        escaped = hostile.replace("<", "&lt;").replace(">", "&gt;")
        assert f"<{AUTHOR_URL}|{escaped}" in block_text(card, "meta")
        assert escaped in card.text
        assert_outside_text_is_inert(card, link_targets={POST_URL, AUTHOR_URL})


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_title_is_plain_text_in_the_header_and_escaped_in_the_fallback(
    hostile: str,
) -> None:
    card = make_card(mention=make_mention(title=f"Ask HN: {hostile}"))

    header = block(card, "title")
    assert header["type"] == "header"
    assert header["text"] == {"type": "plain_text", "text": f"Ask HN: {hostile}", "emoji": True}
    assert "&lt;" in card.text
    assert_outside_text_is_inert(card, link_targets={POST_URL, AUTHOR_URL})


def test_multi_line_title_becomes_a_one_line_header() -> None:
    card = make_card(mention=make_mention(title="Ask HN:\n\n  why   so\tmany spaces?"))

    assert block(card, "title")["text"]["text"] == "Ask HN: why so many spaces?"


def test_ampersands_and_html_looking_text_are_escaped_exactly_once() -> None:
    card = make_card(mention=make_mention(text="<b>Tom & Jerry</b> &amp; <script>x</script>"))

    assert block_text(card, "body") == (
        "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt; &amp;amp; &lt;script&gt;x&lt;/script&gt;"
    )


def test_five_thousand_ampersands_fit_without_cutting_an_entity() -> None:
    card = make_card(mention=make_mention(text="&" * 5000, title="&" * 5000))

    body = block_text(card, "body")
    assert len(body) <= 3000
    assert body.endswith("…")
    assert body[:-1] == "&amp;" * (len(body[:-1]) // 5)
    assert_within_limits(card)
    assert_outside_text_is_inert(card, link_targets={POST_URL, AUTHOR_URL})


def test_long_text_is_cut_with_an_ellipsis_inside_the_section_limit() -> None:
    card = make_card(mention=make_mention(text="overheard " * 1000))

    body = block_text(card, "body")
    assert body.startswith("overheard overheard")
    assert body.endswith("…")
    assert 2500 < len(body) <= 3000
    assert_within_limits(card)


def test_astral_emoji_count_double_so_the_body_still_fits() -> None:
    card = make_card(mention=make_mention(text="😟" * 3000))

    body = block_text(card, "body")
    assert utf16_len(body) <= 3000
    assert body.startswith("😟😟")


def test_emoji_sequences_survive() -> None:
    card = make_card(mention=make_mention(text="family 👨‍👩‍👧 and flag 🇫🇷 ❤️"))

    assert block_text(card, "body") == "family 👨‍👩‍👧 and flag 🇫🇷 ❤️"


def test_right_to_left_override_and_control_characters_are_removed() -> None:
    card = make_card(
        mention=make_mention(title="abc\u202edef", text="pay\u202egpj.exe \x1b[31mred\x00"),
        author=make_author(display_name="\u202eevil"),
    )

    serialized = json.dumps(card.to_slack(), ensure_ascii=False)
    assert "\u202e" not in serialized
    assert "\x1b" not in serialized
    assert "\x00" not in serialized
    assert block_text(card, "body") == "paygpj.exe [31mred"


def test_empty_text_gets_a_placeholder_so_the_section_is_valid() -> None:
    card = make_card(mention=make_mention(text=" \n\u202e "))

    assert block_text(card, "body") == "(no text)"
    assert_within_limits(card)


def test_javascript_post_url_is_not_rendered_as_a_link() -> None:
    card = make_card(mention=make_mention(url="javascript:alert(document.cookie)"))

    post_line = block_text(card, "post")
    assert "javascript" not in json.dumps(card.to_slack())
    assert "Open on" not in post_line
    assert post_line.startswith("Posted <!date^")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.com/file",
        "//example.com/no-scheme",
        "https://bank.example@evil.example/",
        "http://[::1",
        "",
    ],
)
def test_author_url_that_is_not_plain_http_leaves_the_name_unlinked(url: str) -> None:
    card = make_card(author=make_author(url=url, display_name="Paul"))

    assert block_text(card, "meta").startswith("*Hacker News* · by Paul · reach 57/100")


def test_post_url_cannot_end_the_link_early_or_forge_its_label() -> None:
    card = make_card(mention=make_mention(url="https://example.com/a?b=1&c=2|Claim here <!here>"))

    expected = "https://example.com/a?b=1&amp;c=2%7CClaim%20here%20%3C!here%3E"
    assert block_text(card, "post").startswith(f"<{expected}|Open on Hacker News> · posted ")
    assert_outside_text_is_inert(card, link_targets={expected, AUTHOR_URL})


def test_post_line_links_the_post_and_formats_its_time_for_each_reader() -> None:
    card = make_card()

    unix = int(CREATED.timestamp())
    assert block_text(card, "post") == (
        f"<{POST_URL}|Open on Hacker News> · posted "
        f"<!date^{unix}^{{date_short_pretty}} at {{time}}|2026-05-01T10:00:00Z>"
    )


# --- what the card says --------------------------------------------------------------------


@pytest.mark.parametrize(("network", "name"), sorted(NETWORK_NAMES.items()))
def test_network_is_shown_by_its_human_name(network: str, name: str) -> None:
    card = make_card(mention=make_mention(network=network))

    assert block_text(card, "meta").startswith(f"*{name}* · by ")
    assert f"Open on {name}>" in block_text(card, "post")
    assert card.text.startswith(f"{name} mention by pg")


def test_meta_line_shows_author_reach_sentiment_and_priority() -> None:
    card = make_card(author=make_author(display_name="Paul Graham"))

    assert block_text(card, "meta") == (
        f"*Hacker News* · by <{AUTHOR_URL}|Paul Graham> · reach 57/100 · 😟 negative (−0.42) · *P2*"
    )


def test_meta_line_without_score_priority_or_sentiment_says_sentiment_unknown() -> None:
    card = make_card(
        mention=make_mention(priority=None, sentiment_label=None, sentiment_polarity=None),
        author=make_author(score=None, url=None),
    )

    assert block_text(card, "meta") == "*Hacker News* · by pg · sentiment unknown"
    assert card.text == (
        "Hacker News mention by pg, sentiment unknown: Overheard keeps our support queue honest."
    )


@pytest.mark.parametrize(
    ("label", "polarity", "shown"),
    [
        ("positive", 0.5, "🙂 positive (+0.50)"),
        ("neutral", 0.0, "😐 neutral (0.00)"),
        ("negative", -0.004, "😟 negative (0.00)"),
        ("negative", None, "😟 negative"),
        ("negative", math.nan, "😟 negative"),
        ("odd", 0.1, "odd (+0.10)"),
    ],
)
def test_sentiment_is_shown_with_its_polarity(
    label: str, polarity: float | None, shown: str
) -> None:
    card = make_card(mention=make_mention(sentiment_label=label, sentiment_polarity=polarity))

    assert f" · {shown} · *P2*" in block_text(card, "meta")


def test_missing_author_is_shown_as_unknown() -> None:
    card = build_mention_card(make_mention(), None, make_card_row())

    assert block_text(card, "meta").startswith("*Hacker News* · by unknown author · 😟")
    assert card.text.startswith("Hacker News mention, negative: ")


def test_fallback_text_names_network_author_reach_and_sentiment() -> None:
    card = make_card()

    assert card.text == (
        "Hacker News mention by pg (reach 57/100), negative: "
        "Overheard keeps our support queue honest."
    )


def test_fallback_text_is_escaped_one_line_and_short() -> None:
    text = "<!channel> & friends\n\n" + "x" * 5000
    card = make_card(mention=make_mention(title="<@U123>", text=text))

    assert card.text.startswith(
        "Hacker News mention by pg (reach 57/100), negative: "
        "&lt;@U123&gt; — &lt;!channel&gt; &amp; friends xxx"
    )
    assert "\n" not in card.text
    assert card.text.endswith("…")
    assert len(card.text) <= 250
    assert_outside_text_is_inert(card, link_targets={POST_URL, AUTHOR_URL})


# --- the conversation ----------------------------------------------------------------------


def test_a_reply_leading_its_conversation_is_titled_by_it() -> None:
    reply = make_mention(title=None, conversation_title="Show HN: Acme Cloud 2.0")

    card = make_card(mention=reply, card_row=make_card_row(message_ts="1.1", thread_ts="1.1"))

    assert block(card, "title")["text"]["text"] == "Show HN: Acme Cloud 2.0"
    assert "Show HN: Acme Cloud 2.0" in card.text


def test_a_reply_in_a_thread_does_not_repeat_the_conversations_title() -> None:
    reply = make_mention(title=None, conversation_title="Show HN: Acme Cloud 2.0")
    queued_reply = make_card_row(state=CardState.QUEUED, thread_ts="1.1")

    for row in (queued_reply, make_card_row(message_ts="1.2", thread_ts="1.1")):
        card = make_card(mention=reply, card_row=row)
        assert not [b for b in blocks_of(card) if b["type"] == "header"]


def test_a_post_in_a_thread_keeps_its_own_title() -> None:
    entry = make_mention(network="rss", title="Acme Cloud 2.0 reviewed")

    card = make_card(mention=entry, card_row=make_card_row(message_ts="1.2", thread_ts="1.1"))

    assert block(card, "title")["text"]["text"] == "Acme Cloud 2.0 reviewed"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_card_says_which_watch_and_terms_matched_escaped(hostile: str) -> None:
    reason = f'Matched watch #3 `acme "{hostile}"` on “acme” “{hostile}”'

    card = make_card(card_row=make_card_row(reason=reason))

    escaped = hostile.replace("<", "&lt;").replace(">", "&gt;")
    assert (
        block_text(card, "why") == f'🔎 Matched watch #3 `acme "{escaped}"` on “acme” “{escaped}”'
    )
    assert_outside_text_is_inert(card, link_targets={POST_URL, AUTHOR_URL})


def test_a_card_without_a_reason_has_no_reason_line() -> None:
    card = make_card(card_row=make_card_row(reason=None))

    assert not [b for b in blocks_of(card) if b["block_id"].endswith("-why")]


def test_a_top_card_counts_its_thread_and_names_the_other_networks() -> None:
    latest = NOW - timedelta(minutes=5)
    thread = ThreadActivity(replies=4, latest_at=latest, also_on=("rss", "reddit"))

    card = build_mention_card(make_mention(), make_author(), make_card_row(), thread=thread)

    assert block_text(card, "thread") == (
        f"💬 4 replies · latest <!date^{int(latest.timestamp())}^{{date_short_pretty}} at "
        "{time}|2026-05-01T11:55:00Z> · also on Reddit, RSS"
    )
    assert "💬 4 replies · latest 2026-05-01T11:55:00Z · also on Reddit, RSS" in (
        render_card_text(card).splitlines()
    )


def test_one_reply_is_one_reply_and_none_says_nothing() -> None:
    one = build_mention_card(
        make_mention(), None, make_card_row(), thread=ThreadActivity(replies=1, latest_at=NOW)
    )
    none = build_mention_card(make_mention(), None, make_card_row(), thread=ThreadActivity())

    assert block_text(one, "thread").startswith("💬 1 reply · latest <!date^")
    assert not [b for b in blocks_of(none) if b["block_id"].endswith("-thread")]


# --- states and buttons --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "buttons"),
    [
        (
            CardState.QUEUED,
            [
                ("Claim", ids.CLAIM, "primary"),
                ("Resolve", ids.RESOLVE, None),
                ("Dismiss", ids.DISMISS, None),
            ],
        ),
        (
            CardState.POSTED,
            [
                ("Claim", ids.CLAIM, "primary"),
                ("Resolve", ids.RESOLVE, None),
                ("Dismiss", ids.DISMISS, None),
            ],
        ),
        (
            CardState.CLAIMED,
            [("Resolve", ids.RESOLVE, "primary"), ("Dismiss", ids.DISMISS, None)],
        ),
        (CardState.RESOLVED, [("Reopen", ids.REOPEN, None)]),
        (CardState.DISMISSED, [("Reopen", ids.REOPEN, None)]),
        (CardState.SNOOZED, [("Reopen", ids.REOPEN, None)]),
    ],
)
def test_each_state_shows_its_buttons(
    state: CardState, buttons: list[tuple[str, str, str | None]]
) -> None:
    card = make_card(card_row=make_card_row(state=state, claimed_by=CLAIMER))

    elements = [e for e in block(card, "actions")["elements"] if e["type"] == "button"]
    assert [(e["text"]["text"], e["action_id"], e.get("style")) for e in elements] == buttons


@pytest.mark.parametrize("state", list(CardState))
def test_buttons_carry_only_the_card_id(state: CardState) -> None:
    card = make_card(card_row=make_card_row(id=4242, state=state))

    for button in [e for e in block(card, "actions")["elements"] if e["type"] == "button"]:
        assert button["value"] == "4242"
        assert set(button) == {"type", "text", "action_id", "value"} | (
            {"style"} if "style" in button else set()
        )


def test_block_ids_carry_card_and_version_and_change_on_update() -> None:
    first = make_card(card_row=make_card_row(id=9, version=1))
    second = make_card(card_row=make_card_row(id=9, version=2))

    first_ids = [b["block_id"] for b in blocks_of(first)]
    second_ids = [b["block_id"] for b in blocks_of(second)]
    assert len(set(first_ids)) == len(first_ids)
    assert all(block_id.startswith("card-9-v1-") for block_id in first_ids)
    assert "card-9-v1-actions" in first_ids
    assert not set(first_ids) & set(second_ids)
    assert first_ids == [
        b["block_id"] for b in blocks_of(make_card(card_row=make_card_row(id=9, version=1)))
    ]


@pytest.mark.parametrize("state", [CardState.QUEUED, CardState.POSTED])
def test_unclaimed_card_says_so_without_an_age_that_would_go_stale(
    state: CardState,
) -> None:
    card_row = make_card_row(state=state, posted_at=NOW - timedelta(minutes=7))

    assert block_text(make_card(card_row=card_row), "state") == "⏳ Unclaimed"


def test_claimed_card_names_the_claimer_and_how_soon_after_posting() -> None:
    card_row = make_card_row(
        state=CardState.CLAIMED,
        claimed_by=CLAIMER,
        claimed_at=NOW - timedelta(minutes=53),
    )
    card = make_card(card_row=card_row)

    assert block_text(card, "state") == (f"🙋 Claimed by <@{CLAIMER}> 12 min after it was posted")
    assert_outside_text_is_inert(card, users={CLAIMER}, link_targets={POST_URL, AUTHOR_URL})


def test_resolved_card_names_the_resolver_and_how_long_it_took() -> None:
    card_row = make_card_row(
        state=CardState.RESOLVED,
        claimed_by=CLAIMER,
        closed_by=CLOSER,
        closed_at=NOW - timedelta(minutes=5),
    )

    assert block_text(make_card(card_row=card_row), "state") == (
        f"✅ Resolved by <@{CLOSER}> · 1 h after it was posted"
    )


def test_dismissed_card_names_who_dismissed_it() -> None:
    card_row = make_card_row(state=CardState.DISMISSED, closed_by=CLOSER, closed_at=NOW)

    assert block_text(make_card(card_row=card_row), "state") == (f"🚫 Dismissed by <@{CLOSER}>")


def test_snoozed_card_says_until_when_in_each_readers_time_zone() -> None:
    until = datetime(2026, 5, 1, 16, 0, tzinfo=UTC)
    card_row = make_card_row(state=CardState.SNOOZED, snoozed_until=until)

    assert block_text(make_card(card_row=card_row), "state") == (
        f"💤 Snoozed until <!date^{int(until.timestamp())}^{{date_short_pretty}} at {{time}}"
        "|2026-05-01T16:00:00Z>"
    )


@pytest.mark.parametrize("state", [CardState.RESOLVED, CardState.DISMISSED])
def test_closing_note_is_shown_escaped_on_a_line_of_its_own(state: CardState) -> None:
    card_row = make_card_row(
        state=state,
        closed_by=CLOSER,
        closed_at=NOW,
        closing_note="Refunded <!channel> & <https://evil.example|replied>",
    )
    card = make_card(card_row=card_row)

    lines = block_text(card, "state").splitlines()
    assert lines[1] == "📝 Refunded &lt;!channel&gt; &amp; &lt;https://evil.example|replied&gt;"
    assert_outside_text_is_inert(card, users={CLOSER}, link_targets={POST_URL, AUTHOR_URL})


def test_a_long_closing_note_is_cut_visibly_within_the_limits() -> None:
    card_row = make_card_row(
        state=CardState.RESOLVED, closed_by=CLOSER, closed_at=NOW, closing_note="&" * 3000
    )
    card = make_card(card_row=card_row)

    assert block_text(card, "state").endswith("&amp;…")
    assert_within_limits(card)


@pytest.mark.parametrize(
    ("claimed_by", "shown"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("u123", "u123"),
        ("U123\n", "U123"),
        ("C123", "C123"),
        ("U12|x", "U12|x"),
        (None, "someone"),
    ],
)
def test_claimer_not_shaped_like_a_slack_user_id_is_shown_as_escaped_text(
    claimed_by: str | None, shown: str
) -> None:
    card_row = make_card_row(state=CardState.CLAIMED, claimed_by=claimed_by)
    card = make_card(card_row=card_row)

    assert block_text(card, "state") == f"🙋 Claimed by {shown}"
    assert_outside_text_is_inert(card, link_targets={POST_URL, AUTHOR_URL})


def test_card_for_an_unsaved_card_row_is_refused() -> None:
    with pytest.raises(ValueError, match="stored"):
        make_card(card_row=make_card_row(id=None))


def test_card_for_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="archived"):
        make_card(card_row=make_card_row(state="archived"))


@pytest.mark.parametrize("state", list(CardState))
def test_every_state_survives_slack_sdk_validation_and_a_round_trip(
    state: CardState,
) -> None:
    card_row = make_card_row(
        state=state, claimed_by=CLAIMER, claimed_at=NOW, closed_by=CLOSER, closed_at=NOW
    )
    card = make_card(mention=make_mention(title="A title"), card_row=card_row)

    payload = card.to_slack()  # to_dict() runs slack_sdk's validators
    reparsed = [Block.parse(b) for b in payload["blocks"]]
    assert [b.to_dict() for b in reparsed if b is not None] == payload["blocks"]
    assert_within_limits(card)


# --- thread notes and ephemeral text -------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "line"),
    [
        ("claimed", "🙋 <@U123> claimed this."),
        ("resolved", "✅ <@U123> resolved this."),
        ("dismissed", "🚫 <@U123> dismissed this."),
        ("reopened", "↩️ <@U123> reopened this."),
    ],
)
def test_thread_note_says_who_did_what(kind: str, line: str) -> None:
    note = build_thread_note(EventKind(kind), "U123", version=3)

    assert note.text == line
    (only,) = note.to_slack()["blocks"]
    assert only["elements"][0]["text"] == line
    assert only["block_id"] == f"note-{kind}-v3"  # unique per change of the card


def test_snooze_note_says_until_when_and_the_wake_note_says_it_is_back() -> None:
    until = datetime(2026, 5, 1, 16, 0, tzinfo=UTC)

    snoozed = build_thread_note(EventKind.SNOOZED, "U123", version=4, snoozed_until=until)
    woke = build_thread_note(EventKind.WOKE, "overheard", version=5)

    assert snoozed.text == (
        f"💤 <@U123> snoozed this until <!date^{int(until.timestamp())}^{{date_short_pretty}} "
        "at {time}|2026-05-01T16:00:00Z>."
    )
    assert woke.text == "⏰ Back from snooze: this is waiting for someone to claim it."
    assert woke.to_slack()["blocks"][0]["block_id"] == "note-woke-v5"


def test_a_closing_note_is_quoted_escaped_in_the_thread_and_only_when_closing() -> None:
    note = "Refunded <!here> & replied"

    resolved = build_thread_note(EventKind.RESOLVED, "U123", version=2, note=note)
    claimed = build_thread_note(EventKind.CLAIMED, "U123", version=2, note=note)

    assert resolved.text == "✅ <@U123> resolved this: Refunded &lt;!here&gt; &amp; replied"
    assert claimed.text == "🙋 <@U123> claimed this."


def test_thread_note_escapes_a_user_id_that_is_not_one() -> None:
    note = build_thread_note(EventKind.CLAIMED, "<!here>", version=1)

    assert note.text == "🙋 &lt;!here&gt; claimed this."


def test_thread_note_for_an_event_people_do_not_cause_is_refused() -> None:
    with pytest.raises(ValueError, match="posted"):
        build_thread_note(EventKind.POSTED, "U123", version=1)


def test_already_claimed_message_names_the_winner() -> None:
    assert build_already_claimed_message("U0WINNER") == (
        "<@U0WINNER> already claimed this mention."
    )
    assert build_already_claimed_message("<!channel>") == (
        "&lt;!channel&gt; already claimed this mention."
    )


# --- terminal rendering --------------------------------------------------------------------


def test_render_card_text_shows_the_card_as_readable_lines() -> None:
    card = make_card(
        mention=make_mention(title="Ask HN: <b>", text="Tom & Jerry <!channel>"),
        author=make_author(display_name="Paul <3"),
    )

    assert render_card_text(card).splitlines() == [
        "Ask HN: <b>",
        f"*Hacker News* · by Paul <3 ({AUTHOR_URL}) · reach 57/100 · 😟 negative (−0.42) · *P2*",
        "Tom & Jerry <!channel>",
        f"Open on Hacker News ({POST_URL}) · posted 2026-05-01T10:00:00Z",
        "⏳ Unclaimed",
        "[Claim] [Resolve] [Dismiss]",
    ]


def test_render_card_text_shows_users_and_entities_readably() -> None:
    card_row = make_card_row(state=CardState.CLAIMED, claimed_by=CLAIMER)
    card = make_card(card_row=card_row, mention=make_mention(text="&amp; stays &amp;"))

    lines = render_card_text(card).splitlines()
    assert f"🙋 Claimed by @{CLAIMER}" in lines
    assert "&amp; stays &amp;" in lines
    assert lines[-1] == "[Resolve] [Dismiss]"


def test_render_card_text_never_prints_terminal_escapes() -> None:
    card = Message(
        blocks=[HeaderBlock(block_id="x", text=PlainTextObject(text="\x1b[2Jgone\u202e"))],
        text="x",
    )

    assert render_card_text(card) == "[2Jgone"  # the ESC is gone, the rest is inert


# --- any input -----------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [*HOSTILE, "&", "<", ">", "&amp;", "|", "*bold*", "\n", "\u202e", "\x1b", "👨‍👩‍👧", "😟"]
)
OUTSIDE_TEXT = st.one_of(
    st.text(),
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=10)), max_size=40).map("".join),
    st.tuples(st.one_of(FRAGMENTS, st.text(min_size=1, max_size=3)), st.integers(1, 3000)).map(
        lambda pair: pair[0] * pair[1]
    ),
)
# url given → the exact link target it may become (None: it must not be linked).
URLS: dict[str, str | None] = {
    POST_URL: POST_URL,
    AUTHOR_URL: AUTHOR_URL,
    "https://example.com/a?b=1&c=2": "https://example.com/a?b=1&amp;c=2",
    "https://example.com/x|<!channel>": "https://example.com/x%7C%3C!channel%3E",
    "https://example.com/" + "a" * 2500: None,
    "javascript:alert(1)": None,
    "data:text/html,<b>": None,
    "not a url": None,
}
USER_IDS = st.one_of(st.sampled_from([CLAIMER, CLOSER, "W0ENTERPRISE"]), st.none(), st.text())


@settings(max_examples=300, deadline=None, database=None)
@given(
    title=st.one_of(st.none(), OUTSIDE_TEXT),
    text=OUTSIDE_TEXT,
    display_name=st.one_of(st.none(), OUTSIDE_TEXT),
    handle=OUTSIDE_TEXT,
    has_author=st.booleans(),
    post_url=st.sampled_from(sorted(URLS)),
    author_url=st.one_of(st.none(), st.sampled_from(sorted(URLS))),
    network=st.one_of(st.sampled_from(sorted(NETWORK_NAMES)), st.text(max_size=40)),
    sentiment_label=st.one_of(st.none(), st.sampled_from(["positive", "negative"]), st.text()),
    polarity=st.one_of(st.none(), st.floats()),
    priority=st.one_of(st.none(), st.integers()),
    score=st.one_of(st.none(), st.integers()),
    state=st.sampled_from(list(CardState)),
    claimed_by=USER_IDS,
    closed_by=USER_IDS,
    closing_note=st.one_of(st.none(), OUTSIDE_TEXT),
    reason=st.one_of(st.none(), OUTSIDE_TEXT),
    conversation_title=st.one_of(st.none(), OUTSIDE_TEXT),
    replies=st.integers(0, 10_000),
    also_on=st.lists(st.one_of(st.sampled_from(sorted(NETWORK_NAMES)), OUTSIDE_TEXT), max_size=12),
)
def test_any_input_fits_block_kit_limits_and_stays_inert(
    title: str | None,
    text: str,
    display_name: str | None,
    handle: str,
    has_author: bool,
    post_url: str,
    author_url: str | None,
    network: str,
    sentiment_label: str | None,
    polarity: float | None,
    priority: int | None,
    score: int | None,
    state: CardState,
    claimed_by: str | None,
    closed_by: str | None,
    closing_note: str | None,
    reason: str | None,
    conversation_title: str | None,
    replies: int,
    also_on: list[str],
) -> None:
    mention = make_mention(
        conversation_title=conversation_title,
        title=title,
        text=text,
        url=post_url,
        network=network,
        sentiment_label=sentiment_label,
        sentiment_polarity=polarity,
        priority=priority,
    )
    author = (
        make_author(display_name=display_name, handle=handle, url=author_url, score=score)
        if has_author
        else None
    )
    card_row = make_card_row(
        state=state,
        claimed_by=claimed_by,
        claimed_at=NOW,
        closed_by=closed_by,
        closed_at=NOW,
        closing_note=closing_note,
        snoozed_until=NOW + timedelta(hours=1),
        reason=reason,
    )
    thread = ThreadActivity(replies=replies, latest_at=NOW, also_on=tuple(also_on))

    card = build_mention_card(mention, author, card_row, thread=thread)

    assert_within_limits(card)
    users = {u for u in (claimed_by, closed_by) if u and SLACK_USER.fullmatch(u)}
    targets = {t for t in (URLS[post_url], URLS.get(author_url or "")) if t}
    assert_outside_text_is_inert(card, users=users, link_targets=targets)
    assert "[" in render_card_text(card).splitlines()[-1]
