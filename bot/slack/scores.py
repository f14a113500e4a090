"""The /score card: reach and its points, formula, history, recent mentions, a Share button."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.durations import short_duration
from bot.services.lookup import Found, Lookup
from bot.services.reach import (
    RAISES_PRIORITY_FROM,
    AuthorReport,
    Handled,
    MentionHandling,
    reach_label,
)
from bot.slack import ids
from bot.slack.cards import Message, network_name
from bot.slack.mrkdwn import escaped_within, fit_mrkdwn, mrkdwn_link, safe_http_url
from bot.store.models import Author
from bot.text import clean_text

SECTION_MAX = 3000
CONTEXT_MAX = 2000
NAME_MAX_CHARS = 100
HANDLE_SHOWN_CHARS = 120
SNIPPET_MAX_CHARS = 90
FALLBACK_MAX_CHARS = 300
LINK_URL_MAX_CHARS = 1000
SLACK_USER_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def build_score_cards(
    reports: Sequence[AuthorReport],
    *,
    now: datetime,
    also_on: Sequence[str] = (),
    shared_by: str | None = None,
    notes: Sequence[str] = (),
) -> Message:
    """One card per author; a Share button on each unless the card is already shared."""
    blocks: list[Block] = []
    if shared_by is not None:
        blocks.append(_context(f"Shared by {_user(shared_by)}"))
    for i, report in enumerate(reports):
        if i:
            blocks.append(DividerBlock())
        blocks += _card(report, now=now, shareable=shared_by is None)
    if also_on:
        names = ", ".join(sorted({escaped_within(network_name(n), 50) for n in also_on}))
        blocks.append(_context(f"The handle is also on {names}: name the network to see it."))
    for note in notes:
        blocks.append(_context(escaped_within(note, CONTEXT_MAX)))
    return Message(blocks=blocks, text=_fallback(reports))


def build_found_cards(found: Found, *, now: datetime) -> Message:
    """The /score answer for authors overheard has stored."""
    return build_score_cards(found.reports, now=now, also_on=found.also_on)


def build_looking_up(handle: str, networks: Sequence[str]) -> Message:
    """The acknowledgement while a handle is looked up live."""
    where = _names(networks, "and")
    text = f"Looking up @{escaped_within(handle, HANDLE_SHOWN_CHARS)} on {where}…"
    return _plain_message(text)


def build_lookup_answer(lookup: Lookup, *, now: datetime) -> Message:
    """What a live lookup found: the authors' cards, or who had no one and who failed."""
    problems = [f"{network_name(a.network)} {a.problem}." for a in lookup.problems if a.problem]
    if lookup.reports:
        return build_score_cards(lookup.reports, now=now, notes=problems)
    handle = escaped_within(lookup.handle, HANDLE_SHOWN_CHARS)
    lines = []
    if lookup.not_found:
        lines.append(f"No one called {handle} on {_names(lookup.not_found, 'or')}.")
    else:
        lines.append(f"Couldn't look {handle} up.")
    lines += [escaped_within(p, 300) for p in problems]
    return _plain_message(" ".join(lines))


def build_score_problem(problem: str) -> Message:
    """Why /score can't answer what was typed (plain words from the service, escaped here)."""
    return _plain_message(escaped_within(problem, SECTION_MAX))


def build_share_refused() -> Message:
    """Tell the person sharing that overheard can't post in this channel."""
    return _plain_message(
        "I can't post in this channel: invite @overheard to it (`/invite @overheard`), "
        "then press Share again."
    )


def build_author_gone() -> Message:
    """Tell the person sharing that the author is no longer stored."""
    return _plain_message("That author is no longer stored, so there is nothing to share.")


# --- one author's card ---------------------------------------------------------------------


def _card(report: AuthorReport, *, now: datetime, shareable: bool) -> list[Block]:
    author = report.author
    key = f"score-{author.id}"
    blocks: list[Block] = [
        SectionBlock(block_id=f"{key}-reach", text=_mrkdwn(_headline(author))),
        SectionBlock(block_id=f"{key}-factors", text=_mrkdwn(_factors(author))),
        _context(_formula(author), block_id=f"{key}-formula"),
        SectionBlock(block_id=f"{key}-history", text=_mrkdwn(_history(report))),
        SectionBlock(block_id=f"{key}-mentions", text=_mrkdwn(_mentions(report, now=now))),
    ]
    if shareable:
        share = ButtonElement(
            text=PlainTextObject(text="Share in channel"),
            action_id=ids.SHARE_SCORE,
            value=str(author.id),
        )
        blocks.append(ActionsBlock(block_id=f"{key}-share", elements=[share]))
    return blocks


def _headline(author: Author) -> str:
    name = _line(author.display_name or author.handle, NAME_MAX_CHARS) or "unknown author"
    handle = _line(author.handle, HANDLE_SHOWN_CHARS)
    network = escaped_within(network_name(author.network), 50)
    url = safe_http_url(author.url, max_chars=LINK_URL_MAX_CHARS)
    who = f"*{name}* ({handle}) on {network}"
    if url:
        who += f" · {mrkdwn_link(url, 'profile')}"
    label = reach_label(author.score)
    if author.score is None:
        return f"{who}\nReach: not scored yet"
    reach = f"{who}\nReach *{author.score}/100* · {label}"
    if author.score >= RAISES_PRIORITY_FROM:
        reach += " (raises their mentions' priority one step)"
    return fit_mrkdwn(reach, SECTION_MAX)


def _factors(author: Author) -> str:
    factors = (author.score_breakdown or {}).get("factors") or []
    if not factors:
        return "No factors yet: overheard has no figures for this author."
    lines = ["*How the points add up*"]
    total = 0
    for factor in factors:
        total += int(factor.get("points") or 0)
        lines.append(f"• {factor_line(factor)}")
    lines.append(f"= *{total}*")
    return fit_mrkdwn("\n".join(lines), SECTION_MAX)


def factor_line(factor: Mapping[str, Any]) -> str:
    """One factor of a reach breakdown in words, escaped: "followers: 1,000 → 36 pts"."""
    points = int(factor.get("points") or 0)
    unit = "pt" if points == 1 else "pts"
    name = str(factor.get("name"))
    shown = escaped_within(name.removesuffix(" (days)"), 60)
    return f"{shown}: {escaped_within(_raw(name, factor), 200)} → {points} {unit}"


def _raw(name: str, factor: Mapping[str, Any]) -> str:
    """The factor's figure in words; a factor that earns nothing says why."""
    raw = factor.get("raw")
    note = factor.get("note")
    if name == "base":
        return "every author"
    if name.startswith("other networks"):
        return f"{float(raw or 0):,.0f} points there, 10 % counted (at most 10)"
    if name.endswith("median engagement"):
        if raw is None:
            return str(note or "not measured")
        figure = f"{_number(float(raw))} per post"
        return f"{figure}, {note}" if note else figure
    if raw is None:
        return "not known"
    if name.endswith("verified"):
        return "yes" if raw else "no"
    if name.endswith("(days)"):
        return f"{float(raw):,.0f} days"
    return f"{float(raw):,.0f}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _formula(author: Author) -> str:
    breakdown = author.score_breakdown or {}
    version = escaped_within(str(breakdown.get("formula_version", "unknown")), 40)
    confidence = escaped_within(str(breakdown.get("confidence", "unknown")), 20)
    return (
        f"Formula {version} · confidence {confidence} · the formula and its reference data "
        "are public (docs/scoring.md)"
    )


def _history(report: AuthorReport) -> str:
    if not report.history:
        return "*Score history*\nNo scores recorded yet."
    lines = ["*Score history* (newest first)"]
    for row in report.history:
        version = escaped_within(row.formula_version, 40)
        lines.append(f"• {row.value}/100 on {_date(row.at)} (formula {version})")
    if report.earlier_scores:
        lines.append(f"…and {report.earlier_scores} earlier")
    return fit_mrkdwn("\n".join(lines), SECTION_MAX)


def _mentions(report: AuthorReport, *, now: datetime) -> str:
    if not report.mentions:
        return "*Recent mentions*\nNone stored yet."
    lines = ["*Recent mentions*"]
    for item in report.mentions:
        mention = item.mention
        snippet = _line(mention.title or mention.text or mention.conversation_title or "", 90)
        label = f"“{snippet}”" if snippet else "a post"
        url = safe_http_url(mention.url, max_chars=LINK_URL_MAX_CHARS)
        post = mrkdwn_link(url, label) if url else label
        lines.append(f"• {post} ({_date(mention.created_at)}): {_handled(item)}")
    return fit_mrkdwn("\n".join(lines), SECTION_MAX)


def _handled(item: MentionHandling) -> str:
    span = _span(item)
    match item.handled:
        case Handled.NO_CARD:
            return "stored, no card"
        case Handled.QUEUED:
            return "queued, not posted yet"
        case Handled.OPEN:
            return f"open, unclaimed for {span}" if span else "open, unclaimed"
        case Handled.CLAIMED:
            return f"claimed by {_user(item.by)}"
        case Handled.SNOOZED:
            return f"snoozed until {_date(item.until)}" if item.until else "snoozed"
        case Handled.RESOLVED:
            done = f"resolved by {_user(item.by)}"
            return f"{done} after {span}" if span else done
        case Handled.MUTED:
            return "dismissed: the author is muted on the watch"
        case Handled.DISMISSED:
            return f"dismissed by {_user(item.by)}"


def _span(item: MentionHandling) -> str | None:
    if item.span is None:
        return None
    return short_duration(item.span) or "under a minute"


# --- pieces ----------------------------------------------------------------------------------


def _fallback(reports: Sequence[AuthorReport]) -> str:
    if not reports:
        return "No author found."
    parts = []
    for report in reports:
        author = report.author
        reach = "not scored yet" if author.score is None else f"{author.score}/100"
        handle = _line(author.handle, HANDLE_SHOWN_CHARS)
        parts.append(f"{handle} on {escaped_within(network_name(author.network), 50)}: {reach}")
    return fit_mrkdwn("Reach of " + "; ".join(parts), FALLBACK_MAX_CHARS)


def _names(networks: Sequence[str], joiner: str) -> str:
    names = [escaped_within(network_name(n), 50) for n in networks]
    if len(names) <= 1:
        return "".join(names) or "no network"
    return f"{', '.join(names[:-1])} {joiner} {names[-1]}"


def _plain_message(mrkdwn: str) -> Message:
    return Message(blocks=[SectionBlock(text=_mrkdwn(mrkdwn))], text=mrkdwn)


def _mrkdwn(text: str) -> MarkdownTextObject:
    # verbatim: outside text that looks like a URL or #channel must not become a link.
    return MarkdownTextObject(text=fit_mrkdwn(text, SECTION_MAX), verbatim=True)


def _context(text: str, *, block_id: str | None = None) -> ContextBlock:
    return ContextBlock(block_id=block_id, elements=[_mrkdwn(fit_mrkdwn(text, CONTEXT_MAX))])


def _line(text: str, limit: int) -> str:
    """Outside text on one line, cleaned, escaped and cut to `limit`."""
    return escaped_within(" ".join(clean_text(text).split()), limit)


def _user(user_id: str | None) -> str:
    """`<@U…>` for a Slack user id; anything else is shown escaped."""
    if not user_id:
        return "someone"
    if user_id[:1] in ("U", "W") and set(user_id) <= SLACK_USER_ID_CHARS and len(user_id) < 32:
        return f"<@{user_id}>"
    return escaped_within(user_id, 40)


def _date(moment: datetime) -> str:
    """A date Slack shows in each reader's time zone, with a UTC fallback."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}}|{fallback}>"
