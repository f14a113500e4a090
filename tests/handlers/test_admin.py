"""/overheard over signed HTTP: admins change, everyone reads, the watch modal and Home buttons."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import select

from bot.services.deps import Deps
from bot.services.pipeline import ingest_mentions
from bot.services.sla import load_policy
from bot.slack import ids
from bot.slack.admins import REFUSAL
from bot.slack.chat import SlackChat
from bot.store.db import session_scope
from bot.store.models import ConfigEntry, DigestSchedule, Route, SourceCursor, Watch
from tests.conftest import Clock, make_settings
from tests.factories import make_fetched, make_watch
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack, validate_blocks
from tests.fakes.slack_app import SIGNING_SECRET, SlackApp, running_app, wait_for

CHANNEL = "C0SUPPORT"
ADMIN, MEMBER, CONFIGURED = "UADMIN", "UMEMBER", "UCONFIGURED"
FEED = "https://93.184.215.14/alerts"  # an address: checking it needs no DNS


@pytest.fixture
def slack(engine: Engine, clock: Clock) -> Iterator[SlackApp]:
    with FakeSlack(token=TEST_TOKEN) as fake:
        fake.users[ADMIN] = {"is_admin": True}
        fake.users["UOWNER"] = {"is_owner": True}
        settings = make_settings(
            SLACK_BOT_TOKEN=TEST_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.base_url,
            OVERHEARD_ADMINS=CONFIGURED,
        )
        client = WebClient(token=TEST_TOKEN, base_url=fake.base_url, timeout=5)
        deps = Deps(settings, engine, SlackChat(client), {}, clock=clock)
        with running_app(deps, fake) as app:
            yield app


def say(app: SlackApp, text: str, *, user: str = ADMIN, channel: str = CHANNEL) -> str:
    """Run `/overheard text`; return the private answer, from the ack or the response_url."""
    before = len(app.fake.responses)
    response = app.command("/overheard", text, user=user, channel=channel)
    assert response.status_code == 200
    if response.text:
        answer: dict[str, Any] = response.json()
    else:
        wait_for(lambda: len(app.fake.responses) > before)
        answer = app.fake.responses[-1]
        assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert validate_blocks(answer.get("blocks", [])) == []
    return str(answer["text"])


def snapshot(engine: Engine) -> list[Any]:
    """Everything an /overheard change can write, to show that nothing was."""
    with session_scope(engine) as session:
        return [
            [w.model_dump() for w in session.exec(select(Watch))],
            [r.model_dump() for r in session.exec(select(Route))],
            [c.model_dump() for c in session.exec(select(ConfigEntry))],
            [d.model_dump() for d in session.exec(select(DigestSchedule))],
        ]


def watches(engine: Engine) -> list[Watch]:
    with session_scope(engine) as session:
        return list(session.exec(select(Watch).order_by(Watch.id)))  # type: ignore[arg-type]


# --- reading: anyone -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "help", "  HELP "])
def test_help_shows_the_watches_and_every_command_to_anyone(
    engine: Engine, slack: SlackApp, text: str
) -> None:
    make_watch(engine, query="acme cloud", sources=["hackernews", "x"])

    response = slack.command("/overheard", text, user=MEMBER)

    shown = json.dumps(response.json()["blocks"], ensure_ascii=False)
    assert f"#1 `acme cloud` on hackernews, x → <#{CHANNEL}>" in shown
    for sub in ("watch add QUERY", "watch pause ID", "route add WATCH_ID", "sla P1 30m"):
        assert sub in shown
    assert "digest at 09:00" in shown and "/overheard stats" in shown
    assert "digest now" in shown
    assert slack.fake.calls_to("users.info") == []  # reading needs no admin check


def test_an_unknown_subcommand_gets_a_short_hint(slack: SlackApp) -> None:
    reply = say(slack, "frobnicate all", user=MEMBER)

    assert reply == "I don't know `frobnicate`. Try `/overheard help` for the list of commands."


def test_unbalanced_quotes_are_explained_and_nothing_changes(
    engine: Engine, slack: SlackApp
) -> None:
    reply = say(slack, 'watch add "acme cloud --source hackernews')

    assert reply.startswith("Unbalanced quotes")
    assert watches(engine) == []


def test_watch_list_shows_paused_watches_to_anyone(engine: Engine, slack: SlackApp) -> None:
    make_watch(engine, query="acme")
    make_watch(engine, query="globex", enabled=False, channel_id="C0NEWS")

    reply = say(slack, "watch list", user=MEMBER)

    assert f"• #1 'acme' (hackernews → <#{CHANNEL}>), every 300 s\n" in reply
    assert "• #2 'globex' (hackernews → <#C0NEWS>), every 300 s *(paused)*" in reply


def test_stats_show_the_last_day_to_anyone(engine: Engine, slack: SlackApp, clock: Clock) -> None:
    watch = make_watch(engine)
    with session_scope(engine) as session:
        ingest_mentions(
            [make_fetched(external_id="1"), make_fetched(external_id="2", text="I love Acme")],
            watch=watch,
            authors={},
            session=session,
            now=clock() - timedelta(hours=1),
        )

    reply = say(slack, "stats", user=MEMBER)

    assert "• 2 mentions (negative 1, positive 1)" in reply
    assert "• by network: hackernews 2" in reply
    assert "• 0 claimed, 0 resolved, 0 dismissed" in reply
    assert "median time to claim: none claimed" in reply


# --- watches ---------------------------------------------------------------------------------


def test_an_admin_adds_a_watch_in_the_channel_the_command_was_typed_in(
    engine: Engine, slack: SlackApp
) -> None:
    reply = say(slack, 'watch add "globex" --source hackernews')

    (watch,) = watches(engine)
    assert (watch.query, watch.sources, watch.channel_id) == ("globex", ["hackernews"], CHANNEL)
    assert reply == (
        f"Added watch #{watch.id} 'globex' (hackernews → <#{CHANNEL}>), fetched every 300 s. "
        f"Pause it with `/overheard watch pause {watch.id}`."
    )


def test_watch_add_takes_the_clis_options_and_slacks_escaped_forms(
    engine: Engine, slack: SlackApp
) -> None:
    text = (
        "watch add “acme &amp; co” --source rss --source hackernews "
        f"--feed-url <{FEED}> --channel <#C0NEWS|news> --interval 600"
    )

    reply = say(slack, text)

    (watch,) = watches(engine)
    assert watch.query == "acme & co"
    assert watch.sources == ["rss", "hackernews"]
    assert (watch.channel_id, watch.interval_s, watch.options) == (
        "C0NEWS",
        600,
        {"feed_url": FEED},
    )
    assert "'acme &amp; co' (rss, hackernews → <#C0NEWS>), fetched every 600 s" in reply


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("watch add acme --source myspace", "invalid choice: 'myspace'"),
        ("watch add acme --source hackernews --channel #support", "is not a Slack channel ID"),
        ("watch add acme --source rss", "an rss watch needs --feed-url"),
        ("watch add acme cloud --source hackernews", "put a query of several words in quotes"),
        ("watch add acme", "the following arguments are required: --source"),
        ("watch add acme --source hackernews --interval 5", "at least 60 s"),
        ("watch pause 9", "no watch with id 9"),
        ("watch resume nine", "'nine' is not an id"),
        ("watch remove 99999999999999999999", "ids run from 1 to 2147483647"),
        ("route remove 3000000000", "ids run from 1 to 2147483647"),
        ("watch edit 9", "no watch with id 9"),
        ("route add 9 <#C0URGENT|urgent> --priority P1", "no watch with id 9"),
        ("route add 1 <#C0URGENT|urgent> --priority P7", "P1 to P4, not P7"),
        ("route add 1 <#C0URGENT|urgent>", "at least one condition"),
        ("route remove 4", "no routing rule with id 4"),
        ("sla P1 soon", "`soon` is not a duration"),
        ("sla P1 40d", "between 1 minute and 30 days"),
        ("sla P9 30m", "P1 to P4, not P9"),
        ("sla escalate #oncall", "Escalate to a user group"),
        ("digest at 09:00 Mars/Olympus", "'Mars/Olympus' is not a time zone"),
        ("digest at 9am UTC", "'9am' is not a time"),
        ("digest at 09:00 UTC hourly", "Say `daily` or `weekly`"),
    ],
)
def test_bad_input_is_answered_clearly_and_changes_nothing(
    engine: Engine, slack: SlackApp, text: str, message: str
) -> None:
    make_watch(engine)
    before = snapshot(engine)

    reply = say(slack, text)

    assert message in reply
    assert snapshot(engine) == before
    assert slack.fake.opened_views == []


def test_an_admin_pauses_resumes_and_removes_a_watch(engine: Engine, slack: SlackApp) -> None:
    make_watch(engine, query="acme")

    paused = say(slack, "watch pause 1")
    assert [w.enabled for w in watches(engine)] == [False]
    resumed = say(slack, "watch resume 1")
    assert [w.enabled for w in watches(engine)] == [True]
    removed = say(slack, "watch remove 1")

    assert paused == (
        f"Paused watch #1 'acme' (hackernews → <#{CHANNEL}>). "
        "Resume with `/overheard watch resume 1`."
    )
    assert resumed.startswith(f"Resumed watch #1 'acme' (hackernews → <#{CHANNEL}>)")
    assert removed.startswith(f"Removed watch #1 'acme' (hackernews → <#{CHANNEL}>)")
    assert watches(engine) == []


CHANGES = [
    'watch add "globex" --source hackernews',
    "watch add",
    "watch edit 1",
    "watch pause 1",
    "watch resume 1",
    "watch remove 1",
    "route add 1 <#C0URGENT|urgent> --priority P1",
    "route remove 1",
    "sla P1 30m",
    "sla escalate <!subteam^S0ONCALL|oncall>",
    "sla escalate none",
    "digest at 09:00 Europe/Paris",
]


@pytest.mark.parametrize("text", CHANGES)
def test_a_member_who_is_not_an_admin_is_refused_every_change(
    engine: Engine, slack: SlackApp, text: str
) -> None:
    watch = make_watch(engine)
    with session_scope(engine) as session:
        session.add(
            Route(
                watch_id=watch.id or 0,
                channel_id="C0X",
                priority_at_most=2,
                created_by=ADMIN,
                created_at=watch.created_at,
            )
        )
    before = snapshot(engine)

    reply = say(slack, text, user=MEMBER)

    assert reply == REFUSAL
    assert snapshot(engine) == before
    assert slack.fake.opened_views == []


def test_a_configured_admin_who_is_not_a_workspace_admin_may_change(
    engine: Engine, slack: SlackApp
) -> None:
    make_watch(engine)

    reply = say(slack, "watch pause 1", user=CONFIGURED)

    assert reply.startswith("Paused watch #1")
    assert [w.enabled for w in watches(engine)] == [False]


def test_a_workspace_owner_may_change(engine: Engine, slack: SlackApp) -> None:
    make_watch(engine)

    assert say(slack, "watch pause 1", user="UOWNER").startswith("Paused watch #1")


def test_a_change_is_acknowledged_before_slack_says_who_is_an_admin(
    engine: Engine, slack: SlackApp
) -> None:
    make_watch(engine)
    slack.fake.delays["users.info"] = 2.0

    started = time.monotonic()
    response = slack.command("/overheard", "watch pause 1", user=ADMIN)
    acked_after = time.monotonic() - started

    assert response.status_code == 200 and response.text == ""
    assert acked_after < 1.5
    wait_for(lambda: len(slack.fake.responses) == 1)
    assert slack.fake.responses[0]["text"].startswith("Paused watch #1")


# --- routes, SLA, digest --------------------------------------------------------------------


def test_an_admin_adds_lists_and_removes_a_routing_rule(engine: Engine, slack: SlackApp) -> None:
    make_watch(engine)

    added = say(
        slack, "route add 1 <#C0URGENT|urgent> --priority P2 --sentiment Negative --reach 40"
    )
    listed = say(slack, "route list 1", user=MEMBER)
    with session_scope(engine) as session:
        (route,) = session.exec(select(Route)).all()
    removed = say(slack, f"route remove {route.id}")

    assert (route.watch_id, route.channel_id) == (1, "C0URGENT")
    assert (route.priority_at_most, route.sentiment, route.reach_at_least) == (2, "negative", 40)
    assert route.created_by == ADMIN
    rule = f"#{route.id} for watch #1: P2 or more urgent, negative, reach ≥ 40 → <#C0URGENT>"
    assert added.startswith(f"Added routing rule {rule}.")
    assert f"• {rule}" in listed
    assert removed.startswith(f"Removed routing rule {rule}.")
    with session_scope(engine) as session:
        assert session.exec(select(Route)).all() == []


def test_a_keyword_rule_keeps_its_phrase(engine: Engine, slack: SlackApp) -> None:
    make_watch(engine)

    reply = say(slack, "route add 1 C0REFUNDS --keyword 'charged twice'")

    assert "“charged twice” → <#C0REFUNDS>" in reply


def test_anyone_sees_the_sla_and_an_admin_changes_it(engine: Engine, slack: SlackApp) -> None:
    shown = say(slack, "sla", user=MEMBER)
    target = say(slack, "sla p1 30m")
    escalate = say(slack, "sla escalate <!subteam^S0ONCALL|oncall>")

    assert "P1: 15 min · P2: 1 h · P3: 4 h · P4: 1 d" in shown and "nobody" in shown
    assert target.startswith("Set P1's response target to 30 min.")
    assert "P1: 30 min · P2: 1 h" in target
    assert escalate.startswith("Cards waiting past twice their target are now escalated to")
    assert "<!subteam^S0ONCALL>" in escalate
    with session_scope(engine) as session:
        policy = load_policy(session=session)
    assert policy.targets[1] == timedelta(minutes=30)
    assert policy.escalate_to == "S0ONCALL"

    off = say(slack, "sla escalate none")

    assert off.startswith("Escalation turned off")
    with session_scope(engine) as session:
        assert load_policy(session=session).escalate_to is None


def test_an_admin_sets_the_digest_time_and_anyone_reads_it(engine: Engine, slack: SlackApp) -> None:
    none_yet = say(slack, "digest", user=MEMBER)
    set_here = say(slack, "digest at 9:30 Europe/Paris weekly")
    set_there = say(slack, "digest at 17:00 UTC --channel <#C0NEWS|news>")
    shown = say(slack, "digest", user=MEMBER)

    assert none_yet.startswith(f"<#{CHANNEL}> gets no digest")
    assert set_here == f"Set <#{CHANNEL}>'s digest to every Monday at 09:30 Europe/Paris."
    assert set_there == "Set <#C0NEWS>'s digest to every day at 17:00 UTC."
    assert shown == f"<#{CHANNEL}> gets its digest every Monday at 09:30 Europe/Paris."
    with session_scope(engine) as session:
        row = session.get(DigestSchedule, CHANNEL)
    assert row is not None and (row.at_time, row.timezone, row.weekly) == (
        "09:30",
        "Europe/Paris",
        True,
    )
    assert row.updated_by == ADMIN


def test_a_watched_channel_gets_the_default_digest_time(engine: Engine, slack: SlackApp) -> None:
    make_watch(engine)  # posts to CHANNEL

    shown = say(slack, "digest", user=MEMBER)

    assert shown.startswith(f"<#{CHANNEL}> gets its digest every day at 09:00 UTC (the default)")


def test_an_admin_gets_a_digest_now_and_a_member_is_refused(
    engine: Engine, slack: SlackApp, clock: Clock
) -> None:
    watch = make_watch(engine)
    with session_scope(engine) as session:  # yesterday, one mention
        ingest_mentions(
            [make_fetched(created_at=clock.now - timedelta(days=1))],
            watch=watch,
            authors={},
            session=session,
            now=clock.now - timedelta(hours=20),
        )

    refused = say(slack, "digest now", user=MEMBER)
    assert refused == REFUSAL
    assert [c for c in slack.fake.calls_to("chat.postMessage") if not c.failed] == []

    done = say(slack, "digest now")

    (digest,) = [c.args for c in slack.fake.calls_to("chat.postMessage") if not c.failed]
    assert digest["channel"] == CHANNEL
    assert digest["metadata"]["event_type"] == "overheard_digest"
    assert digest["metadata"]["event_payload"]["on_demand"] is True
    assert done.startswith(f"Posted the digest for Wed 25 Nov 2026 in <#{CHANNEL}>")
    assert ": 1 mention (" in done
    assert "with its chart in the thread" in done
    assert len(slack.fake.calls_to("files.completeUploadExternal")) == 1


def test_digest_now_reads_a_day_and_refuses_nonsense(slack: SlackApp) -> None:
    assert "is not a day like 2026-11-30" in say(slack, "digest now yesterday-ish")


# --- the watch modal ------------------------------------------------------------------------


def modal_values(
    query: str,
    sources: list[str],
    channel: str,
    interval: str = "300",
    options: dict[str, str] | None = None,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        ids.WATCH_QUERY_BLOCK: {
            ids.WATCH_QUERY_INPUT: {"type": "plain_text_input", "value": query}
        },
        ids.WATCH_SOURCES_BLOCK: {
            ids.WATCH_SOURCES_INPUT: {
                "type": "multi_static_select",
                "selected_options": [
                    {"text": {"type": "plain_text", "text": s}, "value": s} for s in sources
                ],
            }
        },
        ids.WATCH_CHANNEL_BLOCK: {
            ids.WATCH_CHANNEL_INPUT: {
                "type": "conversations_select",
                "selected_conversation": channel,
            }
        },
        ids.WATCH_INTERVAL_BLOCK: {
            ids.WATCH_INTERVAL_INPUT: {"type": "plain_text_input", "value": interval}
        },
    }
    for name, value in (options or {}).items():
        block = ids.WATCH_OPTION_BLOCK_PREFIX + name
        values[block] = {
            block + ids.WATCH_OPTION_INPUT_SUFFIX: {"type": "plain_text_input", "value": value}
        }
    return values


def opened_modal(app: SlackApp) -> dict[str, Any]:
    wait_for(lambda: len(app.fake.opened_views) == 1)
    view = app.fake.opened_views[0]
    assert view["callback_id"] == ids.WATCH_VIEW
    return view


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    return found


def test_watch_add_alone_opens_the_modal_and_its_submission_adds_the_watch(
    engine: Engine, slack: SlackApp
) -> None:
    slack.command("/overheard", "watch add", user=ADMIN)
    view = opened_modal(slack)

    assert block(view, ids.WATCH_CHANNEL_BLOCK)["element"]["initial_conversation"] == CHANNEL
    sources = block(view, ids.WATCH_SOURCES_BLOCK)["element"]["options"]
    assert {"hackernews", "rss", "appstore"} <= {o["value"] for o in sources}
    assert block(view, ids.WATCH_OPTION_BLOCK_PREFIX + "feed_url")["optional"] is True

    values = modal_values("globex", ["hackernews", "rss"], "C0NEWS", "600", {"feed_url": FEED})
    response = slack.submit(view, values, user=ADMIN)

    assert response.status_code == 200 and response.text == ""
    (watch,) = watches(engine)
    assert (watch.query, watch.sources, watch.channel_id, watch.interval_s) == (
        "globex",
        ["hackernews", "rss"],
        "C0NEWS",
        600,
    )
    assert watch.options == {"feed_url": FEED}
    wait_for(lambda: len(slack.fake.ephemerals) == 1)
    (told,) = slack.fake.ephemerals
    assert (told["channel"], told["user"]) == (CHANNEL, ADMIN)
    assert told["text"].startswith(
        f"Added watch #{watch.id} 'globex' (hackernews, rss → <#C0NEWS>)"
    )


def test_watch_edit_opens_the_filled_modal_and_its_submission_changes_the_watch(
    engine: Engine, slack: SlackApp
) -> None:
    watch = make_watch(engine, query="acme", sources=["hackernews", "reddit"])
    with session_scope(engine) as session:
        session.add(SourceCursor(watch_id=watch.id or 0, source="hackernews", cursor={"n": 1}))
        session.add(SourceCursor(watch_id=watch.id or 0, source="reddit", cursor={"n": 2}))

    slack.command("/overheard", "watch edit 1", user=ADMIN)
    view = opened_modal(slack)

    assert block(view, ids.WATCH_QUERY_BLOCK)["element"]["initial_value"] == "acme"
    chosen = block(view, ids.WATCH_SOURCES_BLOCK)["element"]["initial_options"]
    assert [o["value"] for o in chosen] == ["hackernews", "reddit"]
    assert block(view, ids.WATCH_CHANNEL_BLOCK)["element"]["initial_conversation"] == CHANNEL

    values = modal_values("acme -jobs", ["hackernews"], CHANNEL, "900")
    response = slack.submit(view, values, user=ADMIN)

    assert response.status_code == 200 and response.text == ""
    (changed,) = watches(engine)
    assert (changed.query, changed.sources, changed.interval_s) == (
        "acme -jobs",
        ["hackernews"],
        900,
    )
    with session_scope(engine) as session:
        kept = session.exec(select(SourceCursor)).all()
    assert [(c.source, c.cursor) for c in kept] == [("hackernews", {"n": 1})]
    wait_for(lambda: len(slack.fake.ephemerals) == 1)
    told = slack.fake.ephemerals[0]["text"]
    assert told.startswith("Changed watch #1 'acme -jobs'")
    assert "• query: `acme` → `acme -jobs`" in told
    assert "• sources: `hackernews, reddit` → `hackernews`" in told
    assert "• interval: `300 s` → `900 s`" in told


@pytest.mark.parametrize(
    ("values", "block_id", "message"),
    [
        (modal_values("acme OR", ["hackernews"], CHANNEL), ids.WATCH_QUERY_BLOCK, "bad query"),
        (modal_values("acme", [], CHANNEL), ids.WATCH_SOURCES_BLOCK, "at least one source"),
        (modal_values("acme", ["hackernews"], "news"), ids.WATCH_CHANNEL_BLOCK, "channel"),
        (
            modal_values("acme", ["hackernews"], CHANNEL, "soon"),
            ids.WATCH_INTERVAL_BLOCK,
            "seconds",
        ),
        (modal_values("acme", ["hackernews"], CHANNEL, "5"), ids.WATCH_INTERVAL_BLOCK, "60 s"),
        (
            modal_values("acme", ["rss"], CHANNEL),
            ids.WATCH_OPTION_BLOCK_PREFIX + "feed_url",
            "needs --feed-url",
        ),
        (
            modal_values("acme", ["hackernews"], CHANNEL, options={"app_id": "123"}),
            ids.WATCH_OPTION_BLOCK_PREFIX + "app_id",
            "only for --source appstore",
        ),
    ],
)
def test_a_bad_modal_submission_is_shown_beside_its_input_and_writes_nothing(
    engine: Engine, slack: SlackApp, values: dict[str, Any], block_id: str, message: str
) -> None:
    slack.command("/overheard", "watch add", user=ADMIN)
    view = opened_modal(slack)

    response = slack.submit(view, values, user=ADMIN)

    answer = response.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [block_id]
    assert message in answer["errors"][block_id]
    assert watches(engine) == []


def test_a_modal_submission_by_a_member_is_refused_and_writes_nothing(
    engine: Engine, slack: SlackApp
) -> None:
    make_watch(engine, query="acme")
    crafted = {
        "id": "V0CRAFTED",
        "type": "modal",
        "callback_id": ids.WATCH_VIEW,
        "private_metadata": json.dumps({"watch_id": 1, "channel_id": CHANNEL, "from": "command"}),
        "blocks": [],
    }
    before = snapshot(engine)

    response = slack.submit(
        crafted, modal_values("hijacked", ["hackernews"], "C0EVIL"), user=MEMBER
    )

    assert response.json() == {
        "response_action": "errors",
        "errors": {ids.WATCH_QUERY_BLOCK: REFUSAL},
    }
    assert snapshot(engine) == before
    assert slack.fake.ephemerals == []


# --- the Home tab's buttons ------------------------------------------------------------------

HOME = {"id": "V0HOME", "type": "home"}


def test_the_homes_add_button_opens_the_modal_and_the_new_watch_is_confirmed_by_dm(
    engine: Engine, slack: SlackApp
) -> None:
    slack.block_action(
        {"action_id": ids.HOME_ADD_WATCH, "type": "button", "value": "add"},
        user=ADMIN,
        channel=None,
        view=HOME,
    )
    view = opened_modal(slack)
    assert "initial_conversation" not in block(view, ids.WATCH_CHANNEL_BLOCK)["element"]

    slack.submit(view, modal_values("globex", ["hackernews"], "C0NEWS"), user=ADMIN)

    assert [w.query for w in watches(engine)] == ["globex"]
    wait_for(lambda: len(slack.fake.messages(ADMIN)) == 1)
    assert slack.fake.messages(ADMIN)[0]["text"].startswith("Added watch #1 'globex'")
    assert slack.fake.ephemerals == []


def test_the_homes_edit_button_opens_the_modal_for_that_watch(
    engine: Engine, slack: SlackApp
) -> None:
    make_watch(engine, query="acme")
    make_watch(engine, query="globex")

    slack.block_action(
        {"action_id": ids.HOME_EDIT_WATCH, "type": "button", "value": "2"},
        user=CONFIGURED,
        channel=None,
        view=HOME,
    )
    view = opened_modal(slack)
    assert block(view, ids.WATCH_QUERY_BLOCK)["element"]["initial_value"] == "globex"

    slack.submit(view, modal_values("globex corp", ["hackernews"], CHANNEL), user=CONFIGURED)

    assert [w.query for w in watches(engine)] == ["acme", "globex corp"]
    wait_for(lambda: len(slack.fake.messages(CONFIGURED)) == 1)
    assert "• query: `globex` → `globex corp`" in slack.fake.messages(CONFIGURED)[0]["text"]


@pytest.mark.parametrize(
    "action",
    [
        {"action_id": ids.HOME_ADD_WATCH, "type": "button", "value": "add"},
        {"action_id": ids.HOME_EDIT_WATCH, "type": "button", "value": "1"},
    ],
)
def test_the_homes_buttons_tell_a_member_only_admins_may_change(
    engine: Engine, slack: SlackApp, action: dict[str, Any]
) -> None:
    make_watch(engine)

    slack.block_action(action, user=MEMBER, channel=None, view=HOME)

    wait_for(lambda: len(slack.fake.opened_views) == 1)
    (view,) = slack.fake.opened_views
    assert view.get("callback_id") != ids.WATCH_VIEW
    assert REFUSAL in json.dumps(view)
