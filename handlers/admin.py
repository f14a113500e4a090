"""/overheard administration: the command, the watch modal, and the Home's add and edit buttons.

Anyone may read (help, watch list, route list, sla, digest, stats): answered in the
acknowledgement. Every change is acknowledged first, then checked against `admins` (Slack's
users.info may be slow) and answered privately on the command's response_url.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.services.deps import Deps
from bot.services.digest_delivery import channel_plans, send_digest
from bot.services.digest_times import DigestTimeError, digest_time, set_digest_time
from bot.services.routes import RouteError, add_route, list_routes, remove_route
from bot.services.sla import SlaError, load_policy, set_escalation, set_target
from bot.services.stats import last_day
from bot.services.watch_args import add_watch_from_args
from bot.services.watches import (
    WatchError,
    add_watch,
    edit_watch,
    get_watch,
    list_watches,
    remove_watch,
    set_watch_enabled,
    watch_form,
)
from bot.slack import ids
from bot.slack.admin import (
    FROM_COMMAND,
    FROM_HOME,
    AdminInputError,
    Request,
    WatchModalOrigin,
    WatchSubmission,
    build_digest_message,
    build_digest_sent,
    build_error,
    build_help_message,
    build_notice_modal,
    build_reply,
    build_route_added,
    build_route_list,
    build_route_removed,
    build_sla_message,
    build_stats_message,
    build_watch_added,
    build_watch_edited,
    build_watch_list,
    build_watch_modal,
    build_watch_paused,
    build_watch_removed,
    build_watch_resumed,
    describe_escalation,
    describe_target,
    field_block_id,
    parse_command,
    read_watch_submission,
)
from bot.slack.admins import REFUSAL, AdminCheck
from bot.slack.cards import Message
from bot.store.db import session_scope

log = logging.getLogger(__name__)

MODAL_ERROR_MAX_CHARS = 300

Doing = Callable[[Request, str, Session, Deps], Message]


def handle_admin_command(
    ack: Ack,
    command: dict[str, Any],
    respond: Respond,
    client: WebClient,
    deps: Deps,
    admins: AdminCheck,
) -> None:
    """Answer `/overheard …`: reading at once, changes after the ack and the admin check."""
    user_id, channel_id = command["user_id"], command["channel_id"]
    try:
        request = parse_command(command.get("text", ""), channel_id=channel_id)
    except AdminInputError as exc:
        ack(**build_reply(str(exc)).to_slack())
        return
    if not request.changes:
        with session_scope(deps.engine) as session:
            reply = READS[request.name](request, user_id, session, deps)
        ack(**reply.to_slack())
        return
    ack()
    if not admins.is_admin(user_id):
        respond(text=REFUSAL)
        return
    if request.name == "digest now":  # slow (numbers, chart, upload): after the ack
        args = request.args
        result = send_digest(deps, args.channel, args.day, weekly=args.weekly)
        log.info("/overheard digest now by %s: %s", user_id, result.outcome)
        respond(**build_digest_sent(result).to_slack())
        return
    if request.name in ("watch form", "watch edit"):
        origin = WatchModalOrigin(request.args.id, channel_id, FROM_COMMAND)
        error = _open_watch_modal(client, command["trigger_id"], origin, deps)
        if error is not None:
            respond(**error.to_slack())
        return
    try:
        with session_scope(deps.engine) as session:
            reply = CHANGES[request.name](request, user_id, session, deps)
    except (WatchError, RouteError, SlaError, DigestTimeError) as exc:
        reply = build_error(str(exc))
    else:
        log.info("/overheard %s by %s: %s", request.name, user_id, reply.text)
    respond(**reply.to_slack())


def handle_home_add_watch(
    ack: Ack, body: dict[str, Any], client: WebClient, admins: AdminCheck
) -> None:
    """Open the modal for a new watch from the Home tab; others are told why not."""
    ack()
    if not admins.is_admin(body["user"]["id"]):
        client.views_open(trigger_id=body["trigger_id"], view=build_notice_modal(REFUSAL))
        return
    origin = WatchModalOrigin(None, None, FROM_HOME)
    client.views_open(trigger_id=body["trigger_id"], view=build_watch_modal(watch_form(), origin))


def handle_home_edit_watch(
    ack: Ack, body: dict[str, Any], client: WebClient, deps: Deps, admins: AdminCheck
) -> None:
    """Open the modal to edit the watch whose button was pressed on the Home tab."""
    ack()
    if not admins.is_admin(body["user"]["id"]):
        client.views_open(trigger_id=body["trigger_id"], view=build_notice_modal(REFUSAL))
        return
    origin = WatchModalOrigin(int(body["actions"][0]["value"]), None, FROM_HOME)
    error = _open_watch_modal(client, body["trigger_id"], origin, deps)
    if error is not None:
        client.views_open(trigger_id=body["trigger_id"], view=build_notice_modal(error.text))


def handle_watch_submission(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    client: WebClient,
    deps: Deps,
    admins: AdminCheck,
) -> None:
    """Save the watch modal: refused for non-admins, errors shown beside their input."""
    user_id = body["user"]["id"]
    if not admins.is_admin(user_id):
        ack(response_action="errors", errors={ids.WATCH_QUERY_BLOCK: REFUSAL})
        return
    form = watch_form()
    typed = read_watch_submission(view, form)
    if not typed.interval.strip().isdigit():
        ack(
            response_action="errors",
            errors={ids.WATCH_INTERVAL_BLOCK: "A whole number of seconds, like 300."},
        )
        return
    try:
        with session_scope(deps.engine) as session:
            reply = _save_watch(typed, form.networks, session=session, deps=deps)
    except WatchError as exc:
        error = str(exc)[:MODAL_ERROR_MAX_CHARS]
        ack(response_action="errors", errors={field_block_id(exc.field): error})
        return
    ack()
    log.info("watch modal saved by %s: %s", user_id, reply.text)
    origin = typed.origin
    if origin.source == FROM_COMMAND and origin.channel_id:
        client.chat_postEphemeral(channel=origin.channel_id, user=user_id, **reply.to_slack())
    else:
        client.chat_postMessage(channel=user_id, **reply.to_slack())


def _save_watch(
    typed: WatchSubmission, networks: tuple[tuple[str, str], ...], *, session: Session, deps: Deps
) -> Message:
    """Add the modal's watch, or change the one it edits; say what was done."""
    common: dict[str, Any] = {
        "known_sources": [key for key, _name in networks],
        "session": session,
        "interval_s": int(typed.interval),
        "options": typed.options,
        "allow_private_urls": deps.settings.allow_private_urls,
    }
    watch_id = typed.origin.watch_id
    if watch_id is None:
        watch = add_watch(typed.query, typed.sources, typed.channel_id, now=deps.clock(), **common)
        return build_watch_added(watch)
    change = edit_watch(watch_id, typed.query, typed.sources, typed.channel_id, **common)
    return build_watch_edited(change)


def _open_watch_modal(
    client: WebClient, trigger_id: str, origin: WatchModalOrigin, deps: Deps
) -> Message | None:
    """Open the watch modal; return what to say instead when the watch to edit is gone."""
    try:
        with session_scope(deps.engine) as session:
            watch = get_watch(origin.watch_id, session=session) if origin.watch_id else None
    except WatchError as exc:
        return build_error(str(exc))
    client.views_open(trigger_id=trigger_id, view=build_watch_modal(watch_form(), origin, watch))
    return None


# --- what each subcommand does --------------------------------------------------------------


def _help(_r: Request, _user: str, session: Session, _deps: Deps) -> Message:
    return build_help_message(list_watches(session=session))


def _watch_list(_r: Request, _user: str, session: Session, _deps: Deps) -> Message:
    return build_watch_list(list_watches(session=session))


def _route_list(r: Request, _user: str, session: Session, _deps: Deps) -> Message:
    return build_route_list(list_routes(watch_id=r.args.watch_id, session=session), r.args.watch_id)


def _sla(_r: Request, _user: str, session: Session, _deps: Deps) -> Message:
    return build_sla_message(load_policy(session=session))


def _digest(r: Request, _user: str, session: Session, deps: Deps) -> Message:
    default = next((p for p in channel_plans(deps) if p.channel_id == r.args.channel), None)
    schedule = digest_time(r.args.channel, session=session)
    return build_digest_message(schedule, r.args.channel, default=default)


def _stats(_r: Request, _user: str, session: Session, deps: Deps) -> Message:
    return build_stats_message(last_day(session=session, now=deps.clock()))


def _watch_add(r: Request, _user: str, session: Session, deps: Deps) -> Message:
    watch = add_watch_from_args(
        r.args,
        session=session,
        now=deps.clock(),
        allow_private_urls=deps.settings.allow_private_urls,
    )
    return build_watch_added(watch)


def _watch_pause(r: Request, _user: str, session: Session, _deps: Deps) -> Message:
    return build_watch_paused(set_watch_enabled(r.args.id, False, session=session))


def _watch_resume(r: Request, _user: str, session: Session, _deps: Deps) -> Message:
    return build_watch_resumed(set_watch_enabled(r.args.id, True, session=session))


def _watch_remove(r: Request, _user: str, session: Session, _deps: Deps) -> Message:
    return build_watch_removed(remove_watch(r.args.id, session=session))


def _route_add(r: Request, user: str, session: Session, deps: Deps) -> Message:
    route = add_route(
        r.args.watch_id,
        r.args.channel,
        priority_at_most=r.args.priority,
        sentiment=r.args.sentiment,
        reach_at_least=r.args.reach,
        keyword=r.args.keyword,
        by=user,
        session=session,
        now=deps.clock(),
    )
    return build_route_added(route)


def _route_remove(r: Request, _user: str, session: Session, _deps: Deps) -> Message:
    return build_route_removed(remove_route(r.args.route_id, session=session))


def _sla_target(r: Request, user: str, session: Session, deps: Deps) -> Message:
    policy = set_target(r.args.priority, r.args.target, by=user, session=session, now=deps.clock())
    return build_sla_message(policy, describe_target(r.args.priority, r.args.target))


def _sla_escalate(r: Request, user: str, session: Session, deps: Deps) -> Message:
    policy = set_escalation(r.args.contact, by=user, session=session, now=deps.clock())
    return build_sla_message(policy, describe_escalation(r.args.contact))


def _digest_at(r: Request, user: str, session: Session, deps: Deps) -> Message:
    schedule = set_digest_time(
        r.args.channel,
        r.args.at,
        r.args.timezone,
        weekly=r.args.weekly,
        by=user,
        session=session,
        now=deps.clock(),
    )
    return build_digest_message(schedule, r.args.channel, changed=True)


READS: dict[str, Doing] = {
    "help": _help,
    "watch list": _watch_list,
    "route list": _route_list,
    "sla": _sla,
    "digest": _digest,
    "stats": _stats,
}
CHANGES: dict[str, Doing] = {
    "watch add": _watch_add,
    "watch pause": _watch_pause,
    "watch resume": _watch_resume,
    "watch remove": _watch_remove,
    "route add": _route_add,
    "route remove": _route_remove,
    "sla target": _sla_target,
    "sla escalate": _sla_escalate,
    "digest at": _digest_at,
}


def register(app: App) -> None:
    """Attach /overheard, the watch modal and the Home's add and edit buttons."""
    app.command(ids.ADMIN_COMMAND)(handle_admin_command)
    app.view(ids.WATCH_VIEW)(handle_watch_submission)
    app.action(ids.HOME_ADD_WATCH)(handle_home_add_watch)
    app.action(ids.HOME_EDIT_WATCH)(handle_home_edit_watch)
