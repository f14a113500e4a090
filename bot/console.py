"""The terminal demo: a watch on the bundled samples, cards printed, buttons typed as words."""

from __future__ import annotations

from typing import TextIO

from bot.failures import MAX_ID
from bot.services.cards import CardAction, CardError, act_on_card, load_card
from bot.services.deps import Deps
from bot.services.preview import PreviewReport
from bot.services.watches import add_watch, list_watches
from bot.slack.cards import build_mention_card, render_card_text
from bot.sources.sample import SAMPLE
from bot.store.db import session_scope

CONSOLE_CHANNEL = "CONSOLE"
CONSOLE_USER = "UCONSOLE"
DEMO_QUERY = "acme"
SAMPLE_SOURCE = SAMPLE.key
USAGE = "Type: claim N | resolve N | dismiss N | reopen N | quit\n"


def ensure_demo_watch(deps: Deps, out: TextIO) -> None:
    """Watch the bundled samples when there is no watch yet, so cards flow at once."""
    with session_scope(deps.engine) as session:
        if list_watches(session=session):
            return
        add_watch(
            DEMO_QUERY,
            [SAMPLE_SOURCE],
            CONSOLE_CHANNEL,
            known_sources=deps.sources,
            session=session,
            now=deps.clock(),
        )
    out.write(f"Added a demo watch for {DEMO_QUERY!r} on the bundled sample mentions.\n")


def console_loop(deps: Deps, stdin: TextIO, out: TextIO) -> None:
    """Read `claim N` / `resolve N` / `dismiss N` / `reopen N` and act as the button would."""
    for line in stdin:
        words = line.split()
        if not words:
            continue
        if words[0] in ("quit", "exit"):
            return
        if len(words) != 2 or words[0] not in set(CardAction) or not words[1].isdigit():
            out.write(USAGE)
            continue
        card_id = int(words[1])
        if card_id > MAX_ID:  # no row has it, and the database would refuse to look
            out.write(f"no card {card_id}\n")
            continue
        try:
            with session_scope(deps.engine) as session:
                channel = load_card(card_id, session=session).card.channel_id
            act_on_card(
                deps.chat,
                card_id,
                CardAction(words[0]),
                CONSOLE_USER,
                channel_id=channel,
                engine=deps.engine,
                now=deps.clock(),
            )
        except CardError as exc:
            out.write(f"{exc}\n")


def render_preview(report: PreviewReport) -> list[str]:
    """`overheard preview`'s output: each card as the terminal shows it, then a count."""
    lines: list[str] = []
    for number, view in enumerate(report.cards, start=1):
        text = render_card_text(build_mention_card(view.mention, view.author, view.card))
        shown = [line for line in text.splitlines() if not line.startswith("[Claim]")]
        lines += ["", f"── {number} " + "─" * 50, *shown]
    lines.append(
        f"\n{len(report.cards)} of {report.matched} matching mentions shown; "
        "nothing was stored or posted."
    )
    return lines
