"""Reading a newest-first search within a page budget, a backlog of older results first.

A search that returns the newest results first can only be read down from the top. When a
read runs out of pages before the end, what it did not reach is older than what it read: the
fetch keeps that part as a backlog, moves its mark to the newest result, and the next fetches
read the backlog first, with at most half their pages so new results keep arriving, until the
search runs out of results in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

Mark = TypeVar("Mark")  # a position in the search: a time, or an id
Backlog = TypeVar("Backlog")  # the bounds of the older part a cut-short read left


@dataclass(frozen=True, slots=True)
class Window(Generic[Mark]):
    """What one newest-first read did within its page budget."""

    pages: int
    complete: bool  # the search ran out of results before the budget did
    newest: Mark | None
    oldest: Mark | None
    offset: int = 0  # where the next page would start, for searches paged by offset


@dataclass(frozen=True, slots=True)
class Progress(Generic[Mark, Backlog]):
    """Where a fetch leaves a search: its newest mark, any backlog, and why it stopped short."""

    newest: Mark | None
    backlog: Backlog | None
    cut: bool = False  # the new results filled every page: their older part is the backlog
    crowded: bool = False  # the backlog left too few pages: the new results are read again


def read_backlog_first(
    newest: Mark | None,
    backlog: Backlog | None,
    *,
    start: Mark,
    max_pages: int,
    drain: Callable[[Backlog, int], tuple[int, Backlog | None]],
    read: Callable[[Mark, int], Window[Mark]],
    cut: Callable[[Mark, Window[Mark]], Backlog],
    later: Callable[[Mark | None, Mark | None], Mark | None],
) -> Progress[Mark, Backlog]:
    """Read the backlog, then everything from `start` up, within `max_pages` pages.

    `drain(backlog, budget)` reads part of a backlog and returns the pages it took and what
    is left of it (None when it is done); `read(start, budget)` reads from the newest result
    down to `start`; `cut(start, window)` is the backlog a read cut short leaves behind.
    """
    budget = max_pages
    if backlog is not None:
        # Half the pages at most, so new results keep arriving while a backlog drains.
        pages, backlog = drain(backlog, max(1, budget // 2))
        budget -= pages
    if budget <= 0:
        return Progress(newest, backlog)
    window = read(start, budget)
    if window.complete:
        return Progress(later(newest, window.newest), backlog)
    if budget == max_pages:
        return Progress(later(newest, window.newest), cut(start, window), cut=True)
    # A backlog took part of the pages: the mark stays, and these are read again next time.
    return Progress(newest, backlog, crowded=True)
