"""Workspace settings changed from Slack, stored as JSON under a key, with who changed them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.store.models import ConfigEntry


def read_setting(key: str, *, session: Session) -> Any:
    """The stored value, or None."""
    entry = session.get(ConfigEntry, key)
    return None if entry is None else entry.value


def write_setting(key: str, value: Any, *, by: str, session: Session, now: datetime) -> None:
    """Store `value` under `key` (JSON), replacing what was there."""
    entry = session.get(ConfigEntry, key)
    if entry is None:
        entry = ConfigEntry(key=key, value=value, updated_by=by, updated_at=now)
    else:
        entry.value, entry.updated_by, entry.updated_at = value, by, now
    session.add(entry)
