"""Slash commands: /score (/overheard is in handlers/admin.py)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.services.authors import find_authors_by_handle, normalise_handle
from bot.services.deps import Deps
from bot.slack import ids
from bot.slack.views import build_score_message
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


def register(app: App) -> None:
    """Attach the slash command listeners."""
    app.command(ids.SCORE_COMMAND)(handle_score_command)
