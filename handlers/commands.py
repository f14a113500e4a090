"""Slash commands: /score (/overheard is in handlers/admin.py)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.services.deps import Deps
from bot.services.lookup import (
    ScoreRequestError,
    look_up_author,
    parse_score_request,
    plan_lookup,
    stored_authors,
)
from bot.slack import ids
from bot.slack.scores import (
    build_found_cards,
    build_looking_up,
    build_lookup_answer,
    build_score_problem,
)
from bot.store.db import session_scope


def handle_score_command(ack: Ack, command: dict[str, Any], respond: Respond, deps: Deps) -> None:
    """Answer `/score HANDLE [network]` privately: a stored author at once, else look them up."""
    try:
        request = parse_score_request(command.get("text") or "")
        with session_scope(deps.engine) as session:
            found = stored_authors(request, session=session, now=deps.clock())
        if found.reports:
            ack(**build_found_cards(found, now=deps.clock()).to_slack())
            return
        networks = plan_lookup(request, deps.sources)
    except ScoreRequestError as exc:
        ack(**build_score_problem(str(exc)).to_slack())
        return
    ack(**build_looking_up(request.handle, networks).to_slack())
    lookup = look_up_author(request.handle, networks, deps)
    answer = build_lookup_answer(lookup, now=deps.clock())
    respond(**answer.to_slack(), response_type="ephemeral", replace_original=True)


def register(app: App) -> None:
    """Attach the slash command listeners."""
    app.command(ids.SCORE_COMMAND)(handle_score_command)
