"""The reminder and escalation messages: plain spans, no outside text that pings, the console."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from bot.services.chat import CardView, Overdue
from bot.slack.chat import ConsoleChat
from bot.slack.sla import (
    build_channel_escalation,
    build_group_escalation,
    build_reminder,
    span,
)
from tests.bot.slack.test_cards import make_author, make_card_row, make_mention
from tests.fakes.slack_api import validate_blocks

LATE = Overdue(priority=2, waited=timedelta(hours=2, minutes=4), target=timedelta(hours=1))


def view(**mention: object) -> CardView:
    return CardView(
        make_card_row(message_ts="1.0001", thread_ts="1.0001"),
        make_mention(**mention),
        make_author(display_name="<@U0BOSS> Kestrel"),
    )


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        (timedelta(hours=1, minutes=5, seconds=59), "1 h 5 min"),
        (timedelta(days=2, hours=3, minutes=10), "2 d 3 h"),
        (timedelta(days=1, minutes=5), "1 d 5 min"),
        (timedelta(minutes=15), "15 min"),
        (timedelta(seconds=40), "under a minute"),
    ],
)
def test_a_wait_is_shown_in_its_two_largest_units(delta: timedelta, shown: str) -> None:
    assert span(delta) == shown


def test_a_reminder_says_how_late_and_whether_someone_else_will_be_told() -> None:
    told = build_reminder(7, LATE, escalates=True)
    alone = build_reminder(7, LATE, escalates=False)

    assert told.text == (
        "⏰ Waiting 2 h 4 min, past the P2 response target of 1 h. Claim it to take it on."
        " Still unclaimed at 2 h, it is escalated."
    )
    assert alone.text.endswith("set an escalation contact with `/overheard sla escalate`.")
    assert validate_blocks([b.to_dict() for b in told.blocks]) == []


def test_only_a_well_formed_group_id_is_mentioned() -> None:
    good = build_group_escalation(7, LATE, "S0SUPPORT")
    forged = build_group_escalation(7, LATE, "S0X> <!channel")

    assert good.text.startswith("🚨 <!subteam^S0SUPPORT> this has waited 2 h 4 min")
    assert "<!" not in forged.text and "&lt;!channel" in forged.text


def test_a_channel_escalation_links_the_card_and_escapes_what_the_author_wrote() -> None:
    message = build_channel_escalation(
        view(title="Refund <!here>", text="Charged twice & <https://evil.example|click>"),
        LATE,
        "https://example.slack.com/archives/C0CARDS/p10001",
    )

    assert message.text.startswith(
        "🚨 <https://example.slack.com/archives/C0CARDS/p10001|this card> in <#C0CARDS>"
    )
    blocks = str([b.to_dict() for b in message.blocks])
    for forged in ("<!here>", "<@U0BOSS>", "<https://evil.example"):
        assert forged not in message.text and forged not in blocks
    assert "&lt;@U0BOSS&gt; Kestrel" in message.text
    assert "Refund &lt;!here&gt; — Charged twice &amp;" in message.text
    assert validate_blocks([b.to_dict() for b in message.blocks]) == []


def test_a_channel_escalation_without_a_usable_link_still_names_the_channel() -> None:
    message = build_channel_escalation(view(), LATE, "javascript:alert(1)")

    assert message.text.startswith("🚨 a card in <#C0CARDS> has waited 2 h 4 min")
    assert "javascript" not in message.text


def test_the_console_prints_reminders_and_escalations_readably() -> None:
    out = io.StringIO()
    chat = ConsoleChat(out)

    chat.post_reminder(view(), LATE, escalates=False)
    chat.post_escalation(view(), LATE, to="S0SUPPORT")
    chat.post_escalation(view(), LATE, to="C0LEADS")

    printed = out.getvalue()
    assert "#7: ⏰ Waiting 2 h 4 min, past the P2 response target of 1 h." in printed
    assert "#7: 🚨 @subteam^S0SUPPORT this has waited" in printed
    assert "to C0LEADS, about card #7" in printed
    assert "Overheard keeps our support queue honest." in printed
