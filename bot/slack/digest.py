"""The digest message: Block Kit built from a computed `Digest`, with a plain-text fallback."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.services.digest import (
    Digest,
    DigestKind,
    OpenWork,
    StaffWaits,
    TopMention,
    Volume,
    Waits,
)
from bot.slack.cards import Message, network_name
from bot.slack.mrkdwn import escaped_within, fit_mrkdwn, mrkdwn_link, safe_http_url
from bot.text import clean_text

SECTION_MAX_CHARS = 3000
FIELD_MAX_CHARS = 2000
MAX_STAFF_LINES = 10
MAX_SOURCE_LINES = 10
_SENTIMENT_EMOJI = {
    "positive": "🙂",
    "negative": "😟",
    "neutral": "😐",
    "mixed": "🤔",
    "unknown": "❔",
}


def build_digest(digest: Digest, permalinks: Mapping[int, str] | None = None) -> Message:
    """Build the digest; `permalinks` links the top mentions to their cards (by card id)."""
    links = permalinks or {}
    title = _title(digest)
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=title, emoji=True))]
    if digest.empty:
        blocks.append(_section(f"No mentions and nothing answered {_when(digest)}."))
    else:
        blocks.append(_section(_total_line(digest)))
        blocks.append(
            SectionBlock(
                fields=[
                    _field("*By network*\n" + "\n".join(_network_lines(digest))),
                    _field("*By sentiment*\n" + "\n".join(_sentiment_lines(digest))),
                ]
            )
        )
        for heading, top in (
            ("Most reach", digest.top_by_reach),
            ("Most negative", digest.top_by_negativity),
        ):
            if top:
                lines = [_top_line(t, links.get(t.card_id)) for t in top]
                blocks.append(_section(f"*{heading}*\n" + "\n".join(lines)))
        blocks.append(DividerBlock())
        blocks.append(_section(_response_line(digest)))
        if digest.staff:
            blocks.append(_section("*By person*\n" + "\n".join(_staff_lines(digest))))
        fairness = _fairness_line(digest)
        if fairness:
            blocks.append(_section(fairness))
    open_line = _open_line(digest.open)
    if open_line:
        blocks.append(_section(open_line))
    if digest.sources:
        blocks.append(_section(_sources_line(digest)))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Times in {digest.period.zone}."
                    + (" Mentions per hour in the thread." if _charted(digest) else "")
                )
            ]
        )
    )
    return Message(blocks=blocks, text=_fallback(digest))


def _charted(digest: Digest) -> bool:
    """The chart goes out when the 7 days it shows hold any mention."""
    return any(any(values) for values in digest.hourly.values())


def _title(digest: Digest) -> str:
    first = digest.period.first_day
    if digest.period.kind is DigestKind.WEEKLY:
        last = first + timedelta(days=digest.period.days - 1)
        return f"Weekly digest · {first:%a %d %b} – {last:%a %d %b %Y}"
    return f"Daily digest · {first:%a %d %b %Y}"


def _when(digest: Digest) -> str:
    if digest.period.kind is DigestKind.WEEKLY:
        return f"in the week from {digest.period.first_day:%a %d %b}"
    return f"on {digest.period.first_day:%a %d %b}"


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=fit_mrkdwn(text, SECTION_MAX_CHARS)))


def _field(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=fit_mrkdwn(text, FIELD_MAX_CHARS))


def signed(delta: float) -> str:
    """+3, −2, ±0 (one decimal for averages)."""
    text = f"{abs(delta):.0f}" if float(delta).is_integer() else f"{abs(delta):.1f}"
    if text in ("0", "0.0"):
        return "±0"
    return ("+" if delta > 0 else "−") + text


def _comparison(volume: Volume, kind: DigestKind) -> str:
    before = "the day before" if kind is DigestKind.DAILY else "the week before"
    parts = [f"{signed(volume.count - volume.previous)} on {before}"]
    if volume.average is not None:
        parts.append(f"{signed(round(volume.count - volume.average, 1))} on the 7-day average")
    return ", ".join(parts)


def _total_line(digest: Digest) -> str:
    total = digest.total
    noun = "mention" if total.count == 1 else "mentions"
    return f"*{total.count} {noun}* {_when(digest)} ({_comparison(total, digest.period.kind)})"


def _short(volume: Volume, kind: DigestKind) -> str:
    parts = [signed(volume.count - volume.previous)]
    if volume.average is not None:
        parts.append(f"avg {volume.average:.1f}")
    return f"{volume.count} ({', '.join(parts)})"


def _network_lines(digest: Digest) -> list[str]:
    return [
        f"{escaped_within(network_name(v.key), 40)}: {_short(v, digest.period.kind)}"
        for v in digest.by_network
    ] or ["none"]


def _sentiment_lines(digest: Digest) -> list[str]:
    return [
        f"{_SENTIMENT_EMOJI.get(v.key, '')} {v.key}: {_short(v, digest.period.kind)}"
        for v in digest.by_sentiment
    ] or ["none"]


def _top_line(top: TopMention, permalink: str | None) -> str:
    who = f"@{top.author}" if top.author else "someone"
    bits = [network_name(top.network), who]
    if top.reach is not None:
        bits.append(f"reach {top.reach}")
    if top.polarity is not None and top.polarity < 0:
        bits.append(f"{top.polarity:+.2f}")
    label = escaped_within(" · ".join(bits), 200)
    url = safe_http_url(permalink)
    head = mrkdwn_link(url, label) if url else label
    snippet = escaped_within(clean_text(top.snippet), 150)
    return f"• {head}: {snippet}" if snippet else f"• {head}"


def duration(seconds: int | None) -> str:
    """A wait for people, to the minute: "18 min", "1 h 30 min", "2 d 3 h"."""
    if seconds is None:
        return "–"
    minutes = max(0, seconds) // 60
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def _waits(waits: Waits, what: str) -> str:
    if not waits.count:
        return f"no {what}"
    return f"median {duration(waits.median_s)}, p90 {duration(waits.p90_s)} ({waits.count} {what})"


def _response_line(digest: Digest) -> str:
    return (
        f"⏱️ *Time to claim*: {_waits(digest.claim, 'claimed')} · "
        f"*to resolve*: {_waits(digest.resolve, 'resolved')}"
    )


def _staff_lines(digest: Digest) -> list[str]:
    lines = []
    for number, person in enumerate(digest.staff[:MAX_STAFF_LINES], start=1):
        lines.append(f"{_person(person, number, digest.name_staff)}: {_staff_figures(person)}")
    hidden = len(digest.staff) - MAX_STAFF_LINES
    if hidden > 0:
        lines.append(f"and {hidden} more")
    return lines


def _person(person: StaffWaits, number: int, named: bool) -> str:
    user = person.user_id
    if named and user[:1] in ("U", "W") and user.isalnum():
        return f"<@{user}>"
    return f"Person {number}"


def _staff_figures(person: StaffWaits) -> str:
    parts = []
    if person.claim.count:
        parts.append(f"claimed {person.claim.count}, median {duration(person.claim.median_s)}")
    if person.resolve.count:
        parts.append(f"resolved {person.resolve.count}, median {duration(person.resolve.median_s)}")
    return "; ".join(parts)


def _fairness_line(digest: Digest) -> str | None:
    tiers = digest.fairness.tiers
    if not any(t.waits.count for t in tiers):
        return None
    parts = [
        f"{t.tier} ({t.reach}) {duration(t.waits.median_s)}"
        + (f" (n={t.waits.count})" if t.waits.count else "")
        for t in tiers
    ]
    line = "⚖️ *Median first response by reach*: " + " · ".join(parts)
    if digest.fairness.flagged:
        line += "\n⚠️ Low-reach authors waited markedly longer: reach must never buy service."
    return line


def _open_line(work: OpenWork) -> str | None:
    parts = []
    if work.unclaimed:
        parts.append(
            f"{work.unclaimed} unclaimed (oldest waiting {duration(work.oldest_unclaimed_s)})"
        )
    if work.claimed:
        parts.append(
            f"{work.claimed} claimed, not resolved (oldest {duration(work.oldest_claimed_s)})"
        )
    if work.snoozed:
        parts.append(f"{work.snoozed} snoozed")
    return "⏳ *Still open*: " + " · ".join(parts) if parts else None


def _sources_line(digest: Digest) -> str:
    items = [
        f"watch #{p.watch_id} {escaped_within(network_name(p.source), 40)} ({p.state})"
        for p in digest.sources[:MAX_SOURCE_LINES]
    ]
    return "📡 *Failing or silent*: " + ", ".join(items)


def _fallback(digest: Digest) -> str:
    title = _title(digest)
    if digest.empty:
        return f"{title}: no mentions and nothing answered."
    split = ", ".join(f"{v.count} {v.key}" for v in digest.by_sentiment if v.count)
    text = f"{title}: {digest.total.count} mentions ({split})"
    if digest.open.unclaimed:
        text += f"; {digest.open.unclaimed} unclaimed"
    return text + "."
