"""Mistakes people make running overheard, each told back as one line that says what to do."""

from __future__ import annotations

import argparse
import re
from typing import Any, NoReturn

from pydantic import ValidationError
from sqlalchemy.engine import URL

# Ids are 32-bit integer columns on PostgreSQL; a larger number can't name any row.
MAX_ID = 2**31 - 1
DEBUG_HINT = "run with OVERHEARD_LOG_LEVEL=DEBUG for details"

# What each setting accepts, said the way people write it in `.env`.
SETTING_HINTS = {
    "OVERHEARD_POST_INTERVAL_S": "must be a number of seconds, 0 or more, e.g. 1.0",
    "OVERHEARD_BACKFILL_HOURS": "must be a number of hours above 0, e.g. 24",
    "OVERHEARD_ALLOW_PRIVATE_URLS": "must be true or false",
}
SECRET_SETTINGS = frozenset(
    {
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "MASTODON_ACCESS_TOKEN",
        "BLUESKY_APP_PASSWORD",
        "REDDIT_CLIENT_SECRET",
        "X_BEARER_TOKEN",
        "STACKEXCHANGE_KEY",
    }
)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose mistakes end in one line, and exit 2, like argparse's."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


class SetupError(Exception):
    """A problem the person running overheard can fix; the message says how."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def hide_password(text: str) -> str:
    """`text` with any `scheme://user:password@` password shown as ***."""
    return _URL_PASSWORD.sub(r"\1***@", text)


def settings_problem(exc: ValidationError) -> str:
    """One line naming each setting that can't be read, its value and what it accepts."""
    parts = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "a setting"
        parts.append(f"{_shown(name, error.get('input'))}: {_accepts(name, error)}")
    return "; ".join(parts)


def _shown(name: str, value: Any) -> str:
    if name in SECRET_SETTINGS or not isinstance(value, str):
        return name
    if not value.strip():
        return f"{name} is empty"
    return f"{name}={hide_password(value)}"


def _accepts(name: str, error: Any) -> str:
    message = str(error["msg"])
    if error["type"] == "value_error":  # our own validators say it in full
        return message.removeprefix("Value error, ")
    return SETTING_HINTS.get(name, message[:1].lower() + message[1:])


def database_unreachable(url: URL, orig: BaseException | None) -> SetupError:
    """The error for a database that refuses or can't be found, without its password."""
    reason = _reason(str(orig) if orig is not None else "")
    if url.get_backend_name() == "sqlite":
        return SetupError(
            f"can't open the SQLite database {url.database} ({reason}): check that its "
            "folder exists and is writable, or change DATABASE_URL",
            exit_code=1,
        )
    where = url.render_as_string(hide_password=True)
    if "does not exist" in reason:
        todo = "create it, or check DATABASE_URL"
    elif "authentication failed" in reason or "password" in reason:
        todo = "check the user and password in DATABASE_URL"
    else:
        todo = "is it running? Check DATABASE_URL"
    return SetupError(f"can't reach the database at {where} ({reason}): {todo}", exit_code=1)


def _reason(message: str) -> str:
    """The short why of a driver's connection error: "connection refused", "unknown host"."""
    first = message.strip().splitlines()[0] if message.strip() else "no reason given"
    if "failed to resolve host" in first or "could not translate host name" in first:
        return "unknown host"
    tail = first.rsplit("failed: ", 1)[-1].strip()
    tail = re.sub(r"^(FATAL|ERROR):\s*", "", tail)
    return hide_password(tail[:1].lower() + tail[1:])


def row_id(text: str) -> int:
    """An argparse type for a row id: a whole number from 1 to MAX_ID."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an id: ids are whole numbers") from None
    if not 1 <= value <= MAX_ID:
        raise argparse.ArgumentTypeError(f"{text} is not an id: ids run from 1 to {MAX_ID}")
    return value


def one_line(exc: BaseException) -> str:
    """An unexpected error as one line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return hide_password(f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__)
