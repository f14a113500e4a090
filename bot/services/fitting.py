"""Making fetched mentions and authors fit their columns before they are stored.

A network's field can be anything: a count of three billion, a 600-character id, a NUL in a
name. Each value is checked against the column it goes to (read from the tables, so a
changed column changes the check): integers are clamped to the column's range (32-bit
`Integer` on PostgreSQL), strings lose NUL and other control characters and are cut to the
column's length. An item whose identity (its id on the network) does not fit is refused
rather than cut, since a cut id could name another post.
"""

from __future__ import annotations

import logging
import math
from dataclasses import fields, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.sql.schema import Table
from sqlalchemy.types import TypeDecorator

from bot.sources.base import FetchedAuthor, FetchedMention
from bot.store.models import Author, Mention
from bot.text import strip_control

log = logging.getLogger(__name__)

INT32_RANGE = (-(2**31), 2**31 - 1)
INT64_RANGE = (-(2**63), 2**63 - 1)
# Where a fetched field is stored under another name.
_MENTION_COLUMNS = {"external_id": "external_id"}
_AUTHOR_COLUMNS = {"account_id": "external_id"}
# Fields that name the item: refused when they don't fit, never cut.
_IDENTITY = frozenset({"network", "external_id"})

_F = TypeVar("_F", FetchedMention, FetchedAuthor)


class UnfitItem(ValueError):
    """A fetched item whose identity cannot be stored as it is."""


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def fit_int(value: Any, column_type: Any) -> int | None:
    """A count clamped to what the column holds; None for what is not a number at all."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else fit_int(math.copysign(2**70, value), column_type)
    low, high = INT64_RANGE if isinstance(column_type, BigInteger) else INT32_RANGE
    return max(low, min(high, int(value)))


def fit_str(value: Any, length: int | None) -> str | None:
    """Text without control characters, cut to `length`; None for what is not text."""
    if not isinstance(value, str):
        return None
    text = strip_control(value)
    return text[:length] if length is not None else text


def _fit(item: _F, table: Table, renamed: dict[str, str]) -> _F:
    changes: dict[str, Any] = {}
    for spec in fields(item):
        value = getattr(item, spec.name)
        column = table.columns.get(renamed.get(spec.name, spec.name))
        if value is None or column is None:
            continue
        column_type = column.type
        if isinstance(column_type, TypeDecorator):  # SQLModel's AutoString wraps a String
            column_type = column_type.impl_instance
        if isinstance(column_type, Integer) and not isinstance(value, bool):
            fitted: Any = fit_int(value, column_type)
        elif isinstance(column_type, String):
            length = column_type.length
            fitted = fit_str(value, length)
            if spec.name in _IDENTITY and (not fitted or fitted != value):
                raise UnfitItem(f"{spec.name} {str(value)[:80]!r} does not fit its column")
        else:
            continue
        if fitted != value or type(fitted) is not type(value):
            changes[spec.name] = fitted
    return replace(item, **changes) if changes else item


def fit_author(author: FetchedAuthor) -> FetchedAuthor:
    """The author with every field fitted to the author table's columns."""
    fitted = _fit(author, _table(Author), _AUTHOR_COLUMNS)
    if fitted.handle is None:  # not text at all
        fitted = replace(fitted, handle="")
    if fitted.created_at is not None and not _aware(fitted.created_at):
        fitted = replace(fitted, created_at=None)
    return fitted


def fit_mention(mention: FetchedMention) -> FetchedMention:
    """The mention (and its author) with every field fitted to its columns.

    Raises UnfitItem when its network or id can't be stored as they are.
    """
    fitted = _fit(mention, _table(Mention), _MENTION_COLUMNS)
    changes: dict[str, Any] = {"author": fit_author(mention.author)}
    if fitted.url is None:
        changes["url"] = ""
    if fitted.text is None:
        changes["text"] = ""
    if not _aware(fitted.created_at):
        raise UnfitItem(f"created_at {fitted.created_at!r} is not a tz-aware time")
    if fitted.rating is not None and not 1 <= fitted.rating <= 5:
        changes["rating"] = None
    if changed := {k: v for k, v in changes.items() if getattr(fitted, k) is not v}:
        fitted = replace(fitted, **changed)
    if fitted != mention:
        log.info("%s/%s: fields cut or clamped to fit", mention.network, fitted.external_id)
    return fitted


def _aware(moment: Any) -> bool:
    return isinstance(moment, datetime) and moment.utcoffset() is not None
