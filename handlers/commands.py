"""Slash commands: /score and /overheard."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.services.authors import find_authors_by_handle, normalise_handle
from bot.services.deps import Deps
from bot.services.watches import list_watches
from bot.slack import ids
from bot.slack.views import build_help_message, build_score_message
from bot.store.db import session_scope


def handle_score_command(ack: Ack, command: dict[str, Any], deps: Deps) -> None:
    """Answer `/score HANDLE` privately with the author's reach and its breakdown."""
    handle = normalise_handle(command.get("text", ""))
    if not handle:
        ack(text="Usage: `/score HANDLE`, for example `/score pg`.")
        return
    with session_scope(deps.engine) as session:
        authors = find_authors_by_handle(handle, session=session)
    ack(**build_score_message(handle, authors).to_slack())


def handle_overheard_command(ack: Ack, deps: Deps) -> None:
    """Answer `/overheard` privately with the watches and how to add one."""
    with session_scope(deps.engine) as session:
        watches = list_watches(session=session)
    ack(**build_help_message(watches).to_slack())


def register(app: App) -> None:
    """Attach the slash command listeners."""
    app.command(ids.SCORE_COMMAND)(handle_score_command)
    app.command(ids.ADMIN_COMMAND)(handle_overheard_command)
