"""The App Home tab and admin notice DMs, built from the Home service's data; within Slack's limits.

Cards link to their Slack message with the workspace's URL (auth.test, asked once by the
chat backend) + `/archives/CHANNEL/pTS`: one call for every link instead of a
chat.getPermalink per card on every refresh.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.durations import short_duration
from bot.services.health import HealthRow
from bot.services.home import MAX_LISTED, HomeCard, HomeData, HomeList, Page, WatchStatus
from bot.services.stats import Numbers
from bot.slack import ids
from bot.slack.cards import Message, network_name
from bot.slack.mrkdwn import escape_mrkdwn, escaped_within, fit_mrkdwn, plain_within
from bot.store.models import AdminNotice, Watch

MAX_HOME_BLOCKS = 100
SECTION_MAX = 3000
HEADER_MAX = 150
AUTHOR_MAX_CHARS = 60
QUERY_MAX_CHARS = 300
HEALTH_DETAIL_MAX_CHARS = 300
FINGERPRINT_CHARS = 40
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,31}$")
_PRIORITY_MARK = {1: ":red_circle:", 2: ":large_orange_circle:", 3: ":large_yellow_circle:"}
_STATE_MARK = {"ok": ":white_check_mark:", "waiting": ":hourglass_flowing_sand:"}
_LIST_TITLES = {
    HomeList.MINE: "Claimed by you",
    HomeList.QUEUE: "Waiting for someone to claim them",
    HomeList.WATCHES: "Watches",
}
_EMPTY = {
    HomeList.MINE: "Nothing claimed by you. Claim a card in the queue below to take it on.",
    HomeList.QUEUE: "Nothing is waiting: every posted mention has someone on it.",
    HomeList.WATCHES: "No watches yet: add one to start listening.",
}


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_mrkdwn(fit_mrkdwn(text, SECTION_MAX)))


def _channel(channel_id: str | None) -> str:
    """A channel mention for our own ids (from watches), else the escaped id."""
    if channel_id and _CHANNEL_ID.match(channel_id):
        return f"<#{channel_id}>"
    return escape_mrkdwn(channel_id or "?")


def message_link(workspace_url: str, card: HomeCard) -> str:
    """The card's Slack message: in its channel, or in the thread it was posted to."""
    ts = card.message_ts.replace(".", "")
    link = f"{workspace_url.rstrip('/')}/archives/{card.channel_id}/p{ts}"
    if card.thread_ts and card.thread_ts != card.message_ts:
        link += f"?thread_ts={card.thread_ts}&cid={card.channel_id}"
    return link


def _age(card: HomeCard, listing: HomeList) -> str:
    span = short_duration(card.age) or "under a minute"
    return f"claimed {span} ago" if listing is HomeList.MINE else f"waiting {span}"


def _card_line(card: HomeCard, listing: HomeList, workspace_url: str | None) -> str:
    priority = f"P{card.priority}" if card.priority is not None else "P?"
    mark = _PRIORITY_MARK.get(card.priority or 0, ":white_circle:")
    who = f" · {escaped_within(card.author, AUTHOR_MAX_CHARS)}" if card.author else ""
    where = f"in {_channel(card.channel_id)}"
    if workspace_url:
        where += f" · <{escape_mrkdwn(message_link(workspace_url, card))}|open>"
    head = (
        f"{mark} *{priority}* · {escape_mrkdwn(network_name(card.network))}{who} · "
        f"{_age(card, listing)} · {where}"
    )
    snippet = escaped_within(card.snippet, 400) if card.snippet else "_no text_"
    return f"{head}\n{snippet}"


def _list_header(listing: HomeList, page: Page[Any]) -> HeaderBlock:
    title = f"{_LIST_TITLES[listing]} ({page.total:,})"
    if page.pages > 1:
        title += f" · page {page.number} of {page.pages}"
    return HeaderBlock(text=plain_within(title, HEADER_MAX))


def _pager(listing: HomeList, page: Page[Any]) -> list[Block]:
    """Previous and Next, when there is a page that way. Their ids differ: one block."""
    buttons = []
    if page.number > 1:
        buttons.append(
            ButtonElement(
                text="← Previous",
                action_id=ids.HOME_PAGE_PREVIOUS,
                value=f"{listing.value}:{page.number - 1}",
            )
        )
    if page.number < page.pages:
        buttons.append(
            ButtonElement(
                text="Next →",
                action_id=ids.HOME_PAGE_NEXT,
                value=f"{listing.value}:{page.number + 1}",
            )
        )
    return [ActionsBlock(elements=buttons)] if buttons else []


def _card_list(
    listing: HomeList, page: Page[HomeCard], workspace_url: str | None, shown: int
) -> list[Block]:
    blocks: list[Block] = [_list_header(listing, page)]
    if not page.items:
        blocks.append(_section(_EMPTY[listing]))
    blocks += [_section(_card_line(card, listing, workspace_url)) for card in page.items]
    if page.total > shown:
        blocks.append(
            ContextBlock(
                elements=[_mrkdwn(f"The {shown:,} most urgent are listed; {page.total:,} wait.")]
            )
        )
    return blocks + _pager(listing, page)


def _health_line(row: HealthRow) -> str:
    mark = ":warning:" if row.flagged else _STATE_MARK.get(row.state, ":grey_question:")
    detail = escaped_within(row.detail, HEALTH_DETAIL_MAX_CHARS)
    return (
        f"{mark} {escape_mrkdwn(network_name(row.source))}: *{escape_mrkdwn(row.state)}* · {detail}"
    )


def _watch_blocks(status: WatchStatus) -> list[Block]:
    watch = status.watch
    every = short_duration_s(watch.interval_s)
    head = (
        f"*#{watch.id}* `{escaped_within(watch.query, QUERY_MAX_CHARS)}` → "
        f"{_channel(watch.channel_id)} · every {every}"
    )
    if not watch.enabled:
        head += " · :double_vertical_bar: *paused*"
    lines = [_health_line(row) for row in status.health] or [
        ":hourglass_flowing_sand: not fetched yet"
    ]
    toggle = (
        ButtonElement(text="Pause", action_id=ids.HOME_PAUSE_WATCH, value=str(watch.id))
        if watch.enabled
        else ButtonElement(
            text="Resume", action_id=ids.HOME_RESUME_WATCH, value=str(watch.id), style="primary"
        )
    )
    edit = ButtonElement(text="Edit", action_id=ids.HOME_EDIT_WATCH, value=str(watch.id))
    return [_section("\n".join([head, *lines])), ActionsBlock(elements=[toggle, edit])]


def short_duration_s(seconds: int) -> str:
    """An interval in seconds for people: "5 min", "1 h", "30 s"."""
    return short_duration(timedelta(seconds=seconds)) or f"{seconds} s"


def _watches(page: Page[WatchStatus]) -> list[Block]:
    blocks: list[Block] = [
        _list_header(HomeList.WATCHES, page),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Add a watch", action_id=ids.HOME_ADD_WATCH, value="add", style="primary"
                )
            ]
        ),
    ]
    if not page.items:
        blocks.append(_section(_EMPTY[HomeList.WATCHES]))
    for status in page.items:
        blocks += _watch_blocks(status)
    return blocks + _pager(HomeList.WATCHES, page)


def notice_text(notice: AdminNotice) -> str:
    """A notice's message in mrkdwn, its channel as a channel mention where Slack knows it."""
    text = escape_mrkdwn(notice.message)
    known = notice.kind != "channel_not_found"  # Slack would show an unknown channel's link
    if known and notice.channel_id and _CHANNEL_ID.match(notice.channel_id):
        text = text.replace(f"channel {notice.channel_id}", f"<#{notice.channel_id}>")
    return text


def _slack(home: HomeData) -> list[Block]:
    """Cards Slack hasn't taken for a while, paused channels, a refused token."""
    if home.slack is None:
        return []
    lines = [
        f":warning: {escaped_within(line, HEALTH_DETAIL_MAX_CHARS)}" for line in home.slack.lines()
    ]
    return [_section("\n".join(lines))]


def _notices(home: HomeData) -> list[Block]:
    if not home.notices:
        return []
    lines = [
        f"• {notice_text(n)}" + (f" _(seen {n.count:,} times)_" if n.count > 1 else "")
        for n in home.notices
    ]
    blocks: list[Block] = [_section(":rotating_light: *Needs an admin*\n" + "\n".join(lines))]
    if not home.admins_configured:
        blocks.append(
            ContextBlock(
                elements=[
                    _mrkdwn(
                        "Nobody gets these by DM yet: the Slack user ids listed in "
                        "`OVERHEARD_ADMINS` do."
                    )
                ]
            )
        )
    return blocks


def numbers_text(numbers: Numbers) -> str:
    """The last 24 hours in a few lines."""
    feelings = " · ".join(
        f"{escape_mrkdwn(label)} {count:,}" for label, count in sorted(numbers.by_sentiment.items())
    )
    networks = " · ".join(
        f"{escape_mrkdwn(network_name(n))} {count:,}"
        for n, count in sorted(numbers.by_network.items(), key=lambda item: (-item[1], item[0]))
    )
    median = (
        short_duration_s(int(numbers.median_claim_s))
        if numbers.median_claim_s is not None
        else "no claims"
    )
    lines = [
        f"*Last 24 hours:* {numbers.mentions:,} mentions" + (f" ({feelings})" if feelings else ""),
    ]
    if networks:
        lines.append(f"From {networks}")
    lines.append(
        f"{numbers.claimed:,} claimed · {numbers.resolved:,} resolved · "
        f"{numbers.dismissed:,} dismissed · median time to claim: {median}"
    )
    lines.append(
        f"*Now:* {numbers.unclaimed_now:,} waiting for a claim · {numbers.open_now:,} open"
    )
    return "\n".join(lines)


def build_home_view(home: HomeData, *, workspace_url: str | None = None) -> dict[str, Any]:
    """The App Home: notices, the numbers, your cards, the queue, the watches; ≤ 100 blocks."""
    blocks: list[Block] = [HeaderBlock(text="overheard")]
    if home.flash:
        blocks.append(_section(home.flash))
    blocks += _notices(home)
    blocks += _slack(home)
    blocks += [_section(numbers_text(home.numbers)), DividerBlock()]
    blocks += _card_list(HomeList.MINE, home.mine, workspace_url, MAX_LISTED)
    blocks.append(DividerBlock())
    blocks += _card_list(HomeList.QUEUE, home.queue, workspace_url, MAX_LISTED)
    blocks.append(DividerBlock())
    blocks += _watches(home.watches)
    blocks += [
        DividerBlock(),
        ContextBlock(
            elements=[
                _mrkdwn(
                    "Every mention is posted. An author's reach score (1–100, `/score`) can "
                    "raise a mention's priority by one step and never lowers it."
                )
            ]
        ),
    ]
    return View(type="home", blocks=_within_limit(blocks)).to_dict()


def _within_limit(blocks: list[Block]) -> list[Block]:
    """Never more than Slack's 100 blocks: the page sizes keep far below; this is the backstop."""
    if len(blocks) <= MAX_HOME_BLOCKS:
        return blocks
    return [
        *blocks[: MAX_HOME_BLOCKS - 1],
        ContextBlock(elements=[_mrkdwn("The rest does not fit on the Home.")]),
    ]


def view_fingerprint(view: dict[str, Any]) -> str:
    """A digest of a view: equal digests, equal views."""
    encoded = json.dumps(view, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()[:FINGERPRINT_CHARS]


def build_watch_switched_line(watch: Watch) -> str:
    """What the person who paused or resumed a watch sees at the top of their Home."""
    query = escaped_within(watch.query, QUERY_MAX_CHARS)
    if watch.enabled:
        return f":arrow_forward: Watch #{watch.id} `{query}` is listening again."
    return (
        f":double_vertical_bar: Watch #{watch.id} `{query}` is paused: nothing is fetched for it."
    )


def build_notice_message(notice: AdminNotice) -> Message:
    """The DM an admin gets about a notice: the problem, its fix, and where to see it."""
    text = (
        f":rotating_light: *overheard needs an admin*\n{notice_text(notice)}\n"
        "It stays at the top of the overheard Home tab until a card posts there again."
    )
    return Message(blocks=[_section(text)], text=fit_mrkdwn(notice_text(notice), SECTION_MAX))
