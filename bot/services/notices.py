"""Problems admins must fix (the bot not in a channel, cards stuck, a refused token): noted,
sent, cleared.

A card Slack refuses for a reason no retry will cure becomes one notice per problem
(kind + channel). It is shown at the top of everyone's Home, sent once by DM to each
configured admin, and cleared when a card posts in that channel again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.chat import ChatBackend, ChatError
from bot.services.deps import Deps
from bot.store.db import session_scope
from bot.store.models import AdminNotice

log = logging.getLogger(__name__)

_REINSTALL_FIX = (
    "Slack refuses overheard's token ({kind}): nothing is posted to any channel. Reinstall "
    "the app to the workspace and set the new SLACK_BOT_TOKEN; the waiting cards are posted "
    "as soon as Slack takes one."
)
# Slack's answers to a card post that a person has to act on; each gets its fix in plain words.
FIXES = {
    "not_in_channel": (
        "overheard is not a member of channel {channel}, so its cards can't be posted there. "
        "Invite it: type /invite @overheard in that channel."
    ),
    "channel_not_found": (
        "Slack can't find channel {channel}: it was deleted, or it is private and overheard "
        "was never invited. Invite it (/invite @overheard in that channel), or give the watch "
        "another channel."
    ),
    "is_archived": (
        "Channel {channel} is archived, so cards can't be posted there. Unarchive it, or give "
        "the watch another channel."
    ),
    "ratelimited": (
        "Slack is holding back posts to channel {channel} (rate limited); its cards wait and "
        "are posted later. If this keeps happening, the channel gets more mentions than Slack "
        "lets one app post: split its watches over more channels."
    ),
    "cards_stuck": (
        "Cards for channel {channel} have waited more than 10 minutes to be posted: Slack is "
        "down or keeps refusing them (`overheard sources status` shows its last answer). "
        "Nothing is dropped: overheard keeps trying, less often the longer it lasts (at least "
        "hourly). If https://slack-status.com says Slack is up, look at the worker's log."
    ),
    "token_revoked": _REINSTALL_FIX,
    "token_expired": _REINSTALL_FIX,
    "account_inactive": _REINSTALL_FIX,
    "invalid_auth": _REINSTALL_FIX,
}
NOTICE_KINDS = frozenset(FIXES)
# Slack refuses the token itself: nothing can be posted anywhere.
TOKEN_KINDS = frozenset({"token_revoked", "token_expired", "account_inactive", "invalid_auth"})
# No retry cures these soon for one channel: posting there pauses until a probe gets through.
CHANNEL_KINDS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
# The Home shows this many notices, the newest first.
MAX_NOTICES_SHOWN = 5
# A problem back within this long of its last DM is shown again but not sent again, so a
# channel that keeps hitting Slack's rate limit doesn't flood the admins.
RESEND_AFTER = timedelta(days=1)


def notice_key(kind: str, channel_id: str | None) -> str:
    """One notice per problem: its kind and channel."""
    return f"{kind}:{channel_id or '-'}"


def record_notice(
    kind: str, channel_id: str | None, *, session: Session, now: datetime
) -> AdminNotice:
    """Note a problem: a new notice, a repeat of an open one (count + 1), or a cleared one back."""
    key = notice_key(kind, channel_id)
    message = FIXES.get(kind, "Slack refused a card: {kind} in channel {channel}.").format(
        channel=channel_id or "?", kind=kind
    )
    stmt = select(AdminNotice).where(AdminNotice.key == key)
    notice = session.exec(stmt).first()
    if notice is None:
        try:
            with session.begin_nested():  # another worker may note the same problem now
                notice = AdminNotice(
                    key=key,
                    kind=kind,
                    channel_id=channel_id,
                    message=message,
                    first_at=now,
                    last_at=now,
                )
                session.add(notice)
                session.flush()
            return notice
        except IntegrityError:
            notice = session.exec(stmt.execution_options(populate_existing=True)).one()
    values: dict[str, object]
    if notice.cleared_at is not None:
        # A problem back after it was fixed is news again: shown, and sent again unless the
        # admins heard of it lately.
        values = {"cleared_at": None, "count": 1, "first_at": now}
        if notice.notified_at is None or now - notice.notified_at >= RESEND_AFTER:
            values["notified_at"] = None
    else:
        values = {"count": col(AdminNotice.count) + 1}
    session.execute(
        update(AdminNotice)
        .where(col(AdminNotice.id) == notice.id)
        .values(last_at=now, message=message, **values)
    )
    session.refresh(notice)
    return notice


def clear_channel_notices(channel_id: str, *, session: Session, now: datetime) -> int:
    """Clear the open notices about a channel (a card just posted there), and the workspace's
    refused token (Slack took a message); return how many."""
    result = session.execute(
        update(AdminNotice)
        .where(
            or_(
                col(AdminNotice.channel_id) == channel_id,
                col(AdminNotice.key).in_([notice_key(kind, None) for kind in TOKEN_KINDS]),
            )
        )
        .where(col(AdminNotice.cleared_at).is_(None))
        .values(cleared_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def has_open_notice(kind: str, channel_id: str | None, *, session: Session) -> bool:
    """True while the notice of this problem is open."""
    stmt = select(AdminNotice.id).where(
        AdminNotice.key == notice_key(kind, channel_id), col(AdminNotice.cleared_at).is_(None)
    )
    return session.exec(stmt).first() is not None


def open_notices(*, session: Session, limit: int = MAX_NOTICES_SHOWN) -> list[AdminNotice]:
    """The notices nobody has fixed yet, the most recent first."""
    stmt = (
        select(AdminNotice)
        .where(col(AdminNotice.cleared_at).is_(None))
        .order_by(col(AdminNotice.last_at).desc(), col(AdminNotice.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt))


def take_unsent(*, session: Session, now: datetime) -> list[AdminNotice]:
    """Open notices not sent yet, marked sent; a conditional UPDATE gives each to one worker."""
    unsent = session.exec(
        select(AdminNotice)
        .where(col(AdminNotice.cleared_at).is_(None))
        .where(col(AdminNotice.notified_at).is_(None))
        .order_by(col(AdminNotice.id))
    ).all()
    taken = []
    for notice in unsent:
        result = session.execute(
            update(AdminNotice)
            .where(col(AdminNotice.id) == notice.id)
            .where(col(AdminNotice.notified_at).is_(None))
            .values(notified_at=now)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            taken.append(notice)
    return taken


def send_notices(chat: ChatBackend, notices: Iterable[AdminNotice], admins: Iterable[str]) -> int:
    """DM each notice to each admin; return how many messages went out.

    A DM Slack refuses is logged and not retried: the notice stays on everyone's Home.
    """
    sent = 0
    recipients = sorted(admins)
    for notice in notices:
        for user_id in recipients:
            try:
                chat.send_notice(user_id, notice)
            except ChatError as exc:
                log.warning("notice %s was not sent to %s: %s", notice.key, user_id, exc.code)
            else:
                sent += 1
    return sent


def report_problem(deps: Deps, kind: str, channel_id: str | None) -> AdminNotice:
    """Note a problem and DM it to the configured admins if they haven't had it yet."""
    with session_scope(deps.engine) as session:
        notice = record_notice(kind, channel_id, session=session, now=deps.clock())
    send_unsent_notices(deps)
    return notice


def send_unsent_notices(deps: Deps) -> int:
    """DM the open notices not sent yet to the configured admins; return the messages sent.

    With nobody configured they stay unsent, so admins configured later still get them.
    """
    admins = deps.settings.admins
    if not admins:
        return 0
    with session_scope(deps.engine) as session:
        unsent = take_unsent(session=session, now=deps.clock())
    return send_notices(deps.chat, unsent, admins)
