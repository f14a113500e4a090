"""Looking authors up by handle, for /score."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.store.models import Author

HANDLE_MAX_CHARS = 255


def normalise_handle(raw: str) -> str:
    """Turn what someone typed after /score into a handle: no @, no spaces, no Slack markup."""
    handle = raw.strip().split()[0] if raw.strip() else ""
    return handle.lstrip("@")[:HANDLE_MAX_CHARS]


def find_authors_by_handle(handle: str, *, session: Session) -> list[Author]:
    """Every stored author with this handle on any network, case-insensitively, best score first."""
    stmt = (
        select(Author)
        .where(func.lower(Author.handle) == handle.lower())
        .order_by(col(Author.score).desc().nulls_last(), col(Author.id))
    )
    return list(session.exec(stmt))
