"""/overheard: reading its text, the watch modal, and the private replies saying what changed."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ConversationFilter,
    ConversationSelectElement,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
)
from slack_sdk.models.blocks.basic_components import Option
from slack_sdk.models.views import View

from bot.durations import short_duration
from bot.failures import row_id
from bot.services.digest import DigestKind
from bot.services.digest_delivery import DigestResult, Outcome, Plan
from bot.services.routes import describe_conditions
from bot.services.sla import SlaPolicy
from bot.services.stats import Numbers
from bot.services.watch_args import ArgumentsError, RaisingParser, add_watch_arguments
from bot.services.watches import WatchChange, WatchForm
from bot.slack import ids
from bot.slack.cards import Message
from bot.slack.mrkdwn import escape_mrkdwn, escaped_within, fit_mrkdwn, plain_within
from bot.store.models import DigestSchedule, Route, Watch

SECTION_MAX = 3000
QUERY_MAX_SHOWN = 200
QUERY_MAX_CHARS = 500  # Watch.query
OPTION_TEXT_MAX_CHARS = 75
HINT_MAX_CHARS = 150
COMMAND = "/overheard"
FROM_COMMAND, FROM_HOME = "command", "home"

HELP = """\
*Commands* (anyone may look; changes are for admins)
• `/overheard watch add QUERY --source NAME […] [--channel #c] [--interval S]`, with the \
command line's network options (e.g. `--feed-url`, `--app-id`); `watch add` alone opens a form
• `/overheard watch list` · `watch edit ID` · `watch pause ID` · `watch resume ID` · \
`watch remove ID`
• `/overheard route add WATCH_ID #channel [--priority P2] [--sentiment negative] [--reach 50] \
[--keyword WORD]` · `route list [WATCH_ID]` · `route remove ROUTE_ID`
• `/overheard sla` · `sla P1 30m` · `sla escalate @group|#channel|none`
• `/overheard digest` · `digest at 09:00 Europe/Paris [daily|weekly] [--channel #c]` · \
`digest now [YYYY-MM-DD] [weekly]`
• `/overheard stats` (the last 24 hours)
• `/score HANDLE`: an author's reach"""

USAGE = {
    "watch add": "/overheard watch add QUERY --source NAME [--source NAME …] [--channel #c] "
    "[--interval S]",
    "watch": "/overheard watch list|add|edit|pause|resume|remove …",
    "route add": "/overheard route add WATCH_ID #channel [--priority P1..P4] "
    "[--sentiment negative|neutral|positive] [--reach N] [--keyword WORD]",
    "route": "/overheard route add|list|remove …",
    "sla": "/overheard sla · /overheard sla P1 30m · /overheard sla escalate @group|#channel|none",
    "digest": "/overheard digest · /overheard digest at HH:MM TIME/ZONE [daily|weekly] "
    "[--channel #c] · /overheard digest now [YYYY-MM-DD] [weekly]",
}

_CHANNEL_ENTITY = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^<>]*)?>$")
_SUBTEAM_ENTITY = re.compile(r"^<!subteam\^(S[A-Z0-9]+)(?:\|[^<>]*)?>$")
_LINK_ENTITY = re.compile(r"^<(https?://[^|<>]+)(?:\|[^<>]*)?>$")  # a URL typed
_PRIORITY = re.compile(r"^[Pp]?([0-9])$")
_DURATION = re.compile(r"^(\d+)\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)$", re.IGNORECASE)
_UNIT_S = {"m": 60, "h": 3600, "d": 86400}


class AdminInputError(ValueError):
    """Text /overheard can't read; the message (mrkdwn) says what to type instead."""


@dataclass(frozen=True)
class Request:
    """One /overheard subcommand, read: its name ("watch pause"), arguments, and if it changes."""

    name: str
    changes: bool
    args: argparse.Namespace


@dataclass(frozen=True)
class WatchModalOrigin:
    """Where the watch modal was opened: which watch (None: a new one) and where to reply."""

    watch_id: int | None
    channel_id: str | None  # the channel the command was typed in; None from the Home tab
    source: str  # FROM_COMMAND or FROM_HOME


@dataclass(frozen=True)
class WatchSubmission:
    """What the watch modal sent back."""

    origin: WatchModalOrigin
    query: str
    sources: list[str]
    channel_id: str
    interval: str
    options: dict[str, str]


# --- reading the command --------------------------------------------------------------------


def split_text(text: str) -> list[str]:
    """Split the command's text like a shell, with Slack's channel and group mentions as ids."""
    text = text.replace("\u201c", '"').replace("\u201d", '"')  # clients "smarten" quotes
    try:
        tokens = shlex.split(text)
    except ValueError:
        raise AdminInputError(
            'Unbalanced quotes: close each `"` you open, e.g. '
            '`/overheard watch add "acme cloud" --source hackernews`.'
        ) from None
    return [_untangle(token) for token in tokens]


def _untangle(token: str) -> str:
    for entity in (_CHANNEL_ENTITY, _SUBTEAM_ENTITY, _LINK_ENTITY):
        match = entity.match(token)
        if match:
            token = match.group(1)
            break
    # With should_escape, Slack sends a typed & < > as entities (in links too).
    return token.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_command(text: str, *, channel_id: str) -> Request:
    """Read the /overheard text typed in `channel_id`; raise AdminInputError if it can't be."""
    tokens = split_text(text)
    if not tokens or tokens[0].lower() == "help":
        return Request("help", False, argparse.Namespace())
    if tokens[0] not in _GROUPS:
        raise AdminInputError(
            f"I don't know `{escape_mrkdwn(plain_within(tokens[0], 40))}`. "
            "Try `/overheard help` for the list of commands."
        )
    if tokens == ["watch", "add"]:
        return Request("watch form", True, argparse.Namespace(id=None))
    group = tokens[0]
    verb = tokens[1] if len(tokens) > 1 else ""
    try:
        args = _parser(channel_id).parse_args(tokens)
    except ArgumentsError as exc:
        usage = USAGE.get(f"{group} {verb}", USAGE.get(group))
        hint = f"\nUsage: `{usage}`" if usage else ""
        several = ""
        if group == "watch" and verb == "add" and "unrecognized arguments" in str(exc):
            several = " (put a query of several words in quotes)"
        raise AdminInputError(
            f"Couldn't read that: {escape_mrkdwn(str(exc))}{several}.{hint}"
        ) from None
    name: str = args.request
    if name == "sla":
        name = _read_sla(args)
    elif name == "digest":
        name = _read_digest(args)
    return Request(name, name in _CHANGING, args)


_GROUPS = ("watch", "route", "sla", "digest", "stats")
_CHANGING = frozenset(
    {
        "watch add",
        "watch form",
        "watch edit",
        "watch pause",
        "watch resume",
        "watch remove",
        "route add",
        "route remove",
        "sla target",
        "sla escalate",
        "digest at",
        "digest now",
    }
)


def _parser(channel_id: str) -> RaisingParser:
    root = RaisingParser(prog=COMMAND)
    groups = root.add_subparsers(dest="group", required=True)

    watch = groups.add_parser("watch").add_subparsers(dest="verb", required=True)
    add = watch.add_parser("add")
    add_watch_arguments(add, default_channel=channel_id)
    add.set_defaults(request="watch add")
    watch.add_parser("list").set_defaults(request="watch list")
    for verb in ("pause", "resume", "remove", "edit"):
        one = watch.add_parser(verb)
        one.add_argument("id", type=row_id)
        one.set_defaults(request=f"watch {verb}")

    route = groups.add_parser("route").add_subparsers(dest="verb", required=True)
    add_route = route.add_parser("add")
    add_route.add_argument("watch_id", type=row_id)
    add_route.add_argument("channel")
    add_route.add_argument("--priority", type=_priority)
    add_route.add_argument("--sentiment", type=str.lower)
    add_route.add_argument("--reach", type=int)
    add_route.add_argument("--keyword")
    add_route.set_defaults(request="route add")
    listing = route.add_parser("list")
    listing.add_argument("watch_id", type=row_id, nargs="?")
    listing.set_defaults(request="route list")
    remove = route.add_parser("remove")
    remove.add_argument("route_id", type=row_id)
    remove.set_defaults(request="route remove")

    sla = groups.add_parser("sla")
    sla.add_argument("words", nargs="*")
    sla.set_defaults(request="sla")

    digest = groups.add_parser("digest")
    digest.add_argument("words", nargs="*")
    digest.add_argument("--channel", default=channel_id)
    digest.set_defaults(request="digest")

    groups.add_parser("stats").set_defaults(request="stats")
    return root


def _priority(text: str) -> int:
    match = _PRIORITY.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a priority (P1 to P4)")
    return int(match.group(1))


def parse_duration(text: str) -> timedelta:
    """A span typed as `30m`, `2h` or `1d`; raise AdminInputError otherwise."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise AdminInputError(
            f"`{escape_mrkdwn(plain_within(text, 40))}` is not a duration: write it like "
            "`30m`, `4h` or `1d`."
        )
    return timedelta(seconds=int(match.group(1)) * _UNIT_S[match.group(2)[0].lower()])


def _read_sla(args: argparse.Namespace) -> str:
    words: list[str] = args.words
    if not words:
        return "sla"
    if words[0].lower() == "escalate" and len(words) == 2:
        args.contact = None if words[1].lower() in ("none", "nobody") else words[1]
        return "sla escalate"
    if len(words) == 2:
        try:
            args.priority = _priority(words[0])
        except argparse.ArgumentTypeError as exc:
            raise AdminInputError(f"{escape_mrkdwn(str(exc))}. Usage: `{USAGE['sla']}`") from None
        args.target = parse_duration(words[1])
        return "sla target"
    raise AdminInputError(f"Usage: `{USAGE['sla']}`")


def _read_digest(args: argparse.Namespace) -> str:
    words: list[str] = args.words
    if not words:
        return "digest"
    if words[0].lower() == "now" and len(words) <= 3:
        args.day, args.weekly = None, False
        for word in words[1:]:
            if word.lower() in ("daily", "weekly"):
                args.weekly = word.lower() == "weekly"
                continue
            try:
                args.day = date.fromisoformat(word)
            except ValueError:
                raise AdminInputError(
                    f"{escape_mrkdwn(word)} is not a day like 2026-11-30. "
                    f"Usage: `{USAGE['digest']}`"
                ) from None
        return "digest now"
    if words[0].lower() == "at" and len(words) in (3, 4):
        how = words[3].lower() if len(words) == 4 else "daily"
        if how not in ("daily", "weekly"):
            raise AdminInputError(f"Say `daily` or `weekly`. Usage: `{USAGE['digest']}`")
        args.at, args.timezone, args.weekly = words[1], words[2], how == "weekly"
        return "digest at"
    raise AdminInputError(f"Usage: `{USAGE['digest']}`")


# --- replies --------------------------------------------------------------------------------


def build_reply(text: str) -> Message:
    """A private reply of one mrkdwn section (already escaped), within Slack's limits."""
    fitted = fit_mrkdwn(text, SECTION_MAX)
    return Message(blocks=[SectionBlock(text=_mrkdwn(fitted))], text=fitted)


def build_error(message: str) -> Message:
    """Say that nothing changed, and why (a service's message, plain text)."""
    return build_reply(f"Nothing changed: {escape_mrkdwn(message.rstrip('.'))}.")


def build_help_message(watches: list[Watch]) -> Message:
    """The /overheard help: what is being watched, then every command."""
    if watches:
        lines = [
            f"• #{w.id} `{escape_mrkdwn(w.query)}` on {', '.join(w.sources)} → <#{w.channel_id}>"
            + ("" if w.enabled else " (paused)")
            for w in watches
        ]
        body = "*Watches*\n" + "\n".join(lines)
    else:
        body = (
            "*No watches yet.* Add one: "
            '`/overheard watch add "acme" --source hackernews`, or from a terminal: '
            '`overheard watch add "acme" --source hackernews --channel C0123ABCD`'
        )
    blocks: list[Block] = [
        SectionBlock(text=_mrkdwn(fit_mrkdwn(body, SECTION_MAX))),
        SectionBlock(text=_mrkdwn(HELP)),
    ]
    return Message(blocks=blocks, text="overheard watches")


def build_watch_list(watches: list[Watch]) -> Message:
    """Every watch: its query, networks, channel, interval and whether it is paused."""
    if not watches:
        return build_reply(
            'No watches yet. Add one: `/overheard watch add "acme" --source hackernews`'
        )
    lines = [
        f"• {describe_watch(w)}, every {w.interval_s} s" + ("" if w.enabled else " *(paused)*")
        for w in watches
    ]
    return build_reply("*Watches*\n" + "\n".join(lines))


def describe_watch(watch: Watch) -> str:
    """#3 'acme' (hackernews → <#C0SUPPORT>)."""
    query = escaped_within(watch.query, QUERY_MAX_SHOWN)
    return f"#{watch.id} '{query}' ({', '.join(watch.sources)} → <#{watch.channel_id}>)"


def build_watch_added(watch: Watch) -> Message:
    """Say that a watch was added, and how often it is fetched."""
    return build_reply(
        f"Added watch {describe_watch(watch)}, fetched every {watch.interval_s} s"
        + (f" with {_options_text(watch.options)}" if watch.options else "")
        + f". Pause it with `/overheard watch pause {watch.id}`."
    )


def build_watch_paused(watch: Watch) -> Message:
    """Say that a watch was paused, and how to resume it."""
    return build_reply(
        f"Paused watch {describe_watch(watch)}. Resume with `/overheard watch resume {watch.id}`."
    )


def build_watch_resumed(watch: Watch) -> Message:
    """Say that a watch was resumed."""
    return build_reply(
        f"Resumed watch {describe_watch(watch)}: it is fetched again from the next tick."
    )


def build_watch_removed(watch: Watch) -> Message:
    """Say that a watch was removed, and that its cards stay."""
    return build_reply(f"Removed watch {describe_watch(watch)}. Its cards stay where they are.")


def build_watch_edited(change: WatchChange) -> Message:
    """Say what changed in a watch, field by field."""
    watch = change.watch
    if not change.changes:
        return build_reply(f"Watch {describe_watch(watch)} is unchanged: nothing was different.")
    lines = []
    for field, (before, after) in change.changes.items():
        if field == "channel":
            lines.append(f"• channel: <#{before}> → <#{after}>")
        else:
            old = escaped_within(before, QUERY_MAX_SHOWN)
            new = escaped_within(after, QUERY_MAX_SHOWN)
            lines.append(f"• {field}: `{old}` → `{new}`")
    return build_reply(f"Changed watch {describe_watch(watch)}:\n" + "\n".join(lines))


def describe_route(route: Route) -> str:
    """#2 for watch #3: P1 or more urgent, negative → <#C0URGENT>."""
    conditions = escape_mrkdwn(describe_conditions(route))
    return f"#{route.id} for watch #{route.watch_id}: {conditions} → <#{route.channel_id}>"


def build_route_added(route: Route) -> Message:
    """Say that a routing rule was added."""
    return build_reply(
        f"Added routing rule {describe_route(route)}. Watch #{route.watch_id}'s mentions that "
        f"match it go to <#{route.channel_id}> instead of the watch's channel. "
        f"Remove it with `/overheard route remove {route.id}`."
    )


def build_route_removed(route: Route) -> Message:
    """Say that a routing rule was removed."""
    return build_reply(
        f"Removed routing rule {describe_route(route)}. Cards it already sent stay there."
    )


def build_route_list(routes: list[Route], watch_id: int | None) -> Message:
    """The routing rules, in the order they are tried."""
    which = f" for watch #{watch_id}" if watch_id is not None else ""
    if not routes:
        return build_reply(
            f"No routing rules{which}: every mention goes to its watch's channel. Add one: "
            "`/overheard route add WATCH_ID #channel --priority P1`"
        )
    lines = [f"• {describe_route(r)}" for r in routes]
    return build_reply(f"*Routing rules{which}* (the first that matches wins)\n" + "\n".join(lines))


def build_sla_message(policy: SlaPolicy, changed: str | None = None) -> Message:
    """The response targets and escalation contact; `changed` says what was just set."""
    targets = " · ".join(
        f"P{p}: {short_duration(t) or '0 min'}" for p, t in sorted(policy.targets.items())
    )
    contact = _contact(policy.escalate_to)
    body = f"*Response targets* {targets}\n*Escalation* {contact}"
    if changed:
        body = f"{changed}\n{body}"
    return build_reply(body)


def _contact(contact: str | None) -> str:
    if contact is None:
        return "nobody (an unclaimed card is only reminded in its thread)"
    if contact.startswith("S"):
        return f"<!subteam^{contact}>"
    return f"<#{contact}>"


def describe_target(priority: int, target: timedelta) -> str:
    """Set P1's target to 30 min."""
    return f"Set P{priority}'s response target to {short_duration(target)}."


def describe_escalation(contact: str | None) -> str:
    """Escalate to <!subteam^S1>, or to nobody."""
    if contact is None:
        return "Escalation turned off: nobody is told when a card waits too long."
    return f"Cards waiting past twice their target are now escalated to {_contact(contact)}."


def build_digest_message(
    schedule: DigestSchedule | None,
    channel_id: str,
    *,
    changed: bool = False,
    default: Plan | None = None,
) -> Message:
    """When a channel gets its digest: its own time, the default for a watched channel, none."""
    if schedule is None and default is not None:
        at = f"{default.at:%H:%M} {escape_mrkdwn(default.zone)}"
        return build_reply(
            f"<#{channel_id}> gets its digest every day at {at} (the default). Change it: "
            "`/overheard digest at 09:00 Europe/Paris [daily|weekly]`; see it now: "
            "`/overheard digest now`."
        )
    if schedule is None:
        return build_reply(
            f"<#{channel_id}> gets no digest (no watch posts here). Set one: "
            "`/overheard digest at 09:00 Europe/Paris`"
        )
    when = "every Monday" if schedule.weekly else "every day"
    at = f"{schedule.at_time} {escape_mrkdwn(schedule.timezone)}"
    if changed:
        return build_reply(f"Set <#{channel_id}>'s digest to {when} at {at}.")
    return build_reply(f"<#{channel_id}> gets its digest {when} at {at}.")


def build_digest_sent(result: DigestResult) -> Message:
    """What `/overheard digest now` did."""
    what = "weekly digest" if result.kind == DigestKind.WEEKLY else "digest"
    if result.outcome != Outcome.POSTED:
        return build_error(
            f"The {what} for <#{result.channel_id}> could not be posted "
            f"({escape_mrkdwn(result.error or 'unknown error')})."
        )
    split = ", ".join(f"{count} {label}" for label, count in result.by_sentiment)
    chart = " with its chart in the thread" if result.chart else ""
    return build_reply(
        f"Posted the {what} for {result.first_day:%a %d %b %Y} in <#{result.channel_id}>"
        f"{chart}: {result.mentions} mention{'' if result.mentions == 1 else 's'} "
        f"({split or 'none'})."
    )


def build_stats_message(numbers: Numbers) -> Message:
    """The last day's numbers."""
    by_sentiment = ", ".join(f"{k} {v}" for k, v in sorted(numbers.by_sentiment.items()))
    by_network = ", ".join(f"{k} {v}" for k, v in sorted(numbers.by_network.items()))
    median = (
        "none claimed"
        if numbers.median_claim_s is None
        else short_duration(timedelta(seconds=numbers.median_claim_s)) or "under a minute"
    )
    lines = [
        "*The last 24 hours*",
        f"• {numbers.mentions} mentions"
        + (f" ({escape_mrkdwn(by_sentiment)})" if by_sentiment else ""),
        f"• by network: {escape_mrkdwn(by_network) or 'none'}",
        f"• {numbers.claimed} claimed, {numbers.resolved} resolved, {numbers.dismissed} dismissed",
        f"• median time to claim: {median}",
        f"• now: {numbers.open_now} open, {numbers.unclaimed_now} waiting unclaimed",
    ]
    return build_reply("\n".join(lines))


# --- the watch modal ------------------------------------------------------------------------


def option_block_id(name: str) -> str:
    """The block id of a network option's input."""
    return ids.WATCH_OPTION_BLOCK_PREFIX + name


def field_block_id(field: str | None) -> str:
    """The block to show an error about `field` (a WatchError's) beside."""
    fixed = {
        "query": ids.WATCH_QUERY_BLOCK,
        "sources": ids.WATCH_SOURCES_BLOCK,
        "channel": ids.WATCH_CHANNEL_BLOCK,
        "interval": ids.WATCH_INTERVAL_BLOCK,
    }
    if field is None:
        return ids.WATCH_QUERY_BLOCK
    return fixed.get(field, option_block_id(field))


def build_watch_modal(
    form: WatchForm, origin: WatchModalOrigin, watch: Watch | None = None
) -> dict[str, Any]:
    """The modal to add a watch (empty) or edit one (filled in)."""
    names = dict(form.networks)
    options = [_option(name, key) for key, name in form.networks]
    chosen = [o for o in options if watch is not None and o.value in watch.sources]
    channel = watch.channel_id if watch is not None else origin.channel_id
    blocks: list[Block] = [
        InputBlock(
            block_id=ids.WATCH_QUERY_BLOCK,
            label="Query",
            element=PlainTextInputElement(
                action_id=ids.WATCH_QUERY_INPUT,
                initial_value=watch.query if watch is not None else None,
                max_length=QUERY_MAX_CHARS,
                placeholder='"acme cloud" OR @acme -jobs',
            ),
            hint="Words must all match; OR separates alternatives; -word excludes.",
        ),
        InputBlock(
            block_id=ids.WATCH_SOURCES_BLOCK,
            label="Networks",
            element=StaticMultiSelectElement(
                action_id=ids.WATCH_SOURCES_INPUT,
                options=options,
                initial_options=chosen or None,
                placeholder="Pick one or more",
            ),
        ),
        InputBlock(
            block_id=ids.WATCH_CHANNEL_BLOCK,
            label="Post cards in",
            element=ConversationSelectElement(
                action_id=ids.WATCH_CHANNEL_INPUT,
                initial_conversation=channel,
                default_to_current_conversation=True if channel is None else None,
                filter=ConversationFilter(include=["public", "private"]),
            ),
        ),
        InputBlock(
            block_id=ids.WATCH_INTERVAL_BLOCK,
            label="Seconds between fetches",
            element=PlainTextInputElement(
                action_id=ids.WATCH_INTERVAL_INPUT,
                initial_value=str(watch.interval_s if watch is not None else 300),
                max_length=6,
            ),
        ),
    ]
    for field in form.options:
        value = (watch.options if watch is not None else {}).get(field.name)
        blocks.append(
            InputBlock(
                block_id=option_block_id(field.name),
                label=plain_within(
                    f"{names.get(field.network, field.network)}: {field.flag}", 2000
                ),
                optional=True,
                element=PlainTextInputElement(
                    action_id=option_block_id(field.name) + ids.WATCH_OPTION_INPUT_SUFFIX,
                    initial_value=value,
                ),
                hint=plain_within(
                    field.help + (" (needed for this network)" if field.required else ""),
                    HINT_MAX_CHARS,
                ),
            )
        )
    meta = json.dumps(
        {"watch_id": origin.watch_id, "channel_id": origin.channel_id, "from": origin.source}
    )
    title = "New watch" if watch is None else f"Edit watch #{watch.id}"
    return View(
        type="modal",
        callback_id=ids.WATCH_VIEW,
        title=plain_within(title, 24),
        submit="Save",
        close="Cancel",
        private_metadata=meta,
        blocks=blocks,
    ).to_dict()


def build_notice_modal(text: str) -> dict[str, Any]:
    """A modal that only tells something (that only admins can change overheard, say)."""
    return View(
        type="modal",
        title="overheard",
        close="OK",
        blocks=[SectionBlock(text=_mrkdwn(text))],
    ).to_dict()


def read_watch_origin(view: dict[str, Any]) -> WatchModalOrigin:
    """Where a submitted watch modal was opened."""
    meta = json.loads(view.get("private_metadata") or "{}")
    watch_id = meta.get("watch_id")
    return WatchModalOrigin(
        watch_id=int(watch_id) if watch_id is not None else None,
        channel_id=meta.get("channel_id"),
        source=str(meta.get("from", FROM_HOME)),
    )


def read_watch_submission(view: dict[str, Any], form: WatchForm) -> WatchSubmission:
    """What the watch modal sent back, as typed."""
    values = (view.get("state") or {}).get("values") or {}

    def value(block_id: str, action_id: str) -> dict[str, Any]:
        found: dict[str, Any] = (values.get(block_id) or {}).get(action_id) or {}
        return found

    picked = value(ids.WATCH_SOURCES_BLOCK, ids.WATCH_SOURCES_INPUT).get("selected_options")
    options = {}
    for field in form.options:
        block = option_block_id(field.name)
        typed = value(block, block + ids.WATCH_OPTION_INPUT_SUFFIX).get("value")
        if typed and typed.strip():
            options[field.name] = typed.strip()
    return WatchSubmission(
        origin=read_watch_origin(view),
        query=value(ids.WATCH_QUERY_BLOCK, ids.WATCH_QUERY_INPUT).get("value") or "",
        sources=[str(o.get("value")) for o in picked or []],
        channel_id=value(ids.WATCH_CHANNEL_BLOCK, ids.WATCH_CHANNEL_INPUT).get(
            "selected_conversation"
        )
        or "",
        interval=str(value(ids.WATCH_INTERVAL_BLOCK, ids.WATCH_INTERVAL_INPUT).get("value") or ""),
        options=options,
    )


# --- shared pieces --------------------------------------------------------------------------


def _options_text(options: dict[str, str]) -> str:
    return ", ".join(f"{escape_mrkdwn(k)} `{escape_mrkdwn(v)}`" for k, v in sorted(options.items()))


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def _option(text: str, value: str) -> Option:
    return Option(text=PlainTextObject(text=plain_within(text, OPTION_TEXT_MAX_CHARS)), value=value)
