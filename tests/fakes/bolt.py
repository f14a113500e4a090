"""A stand-in for Bolt's `ack`, for calling listeners directly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class FakeAck:
    """Records each acknowledgement's arguments, and what `snapshot` saw at that moment.

    Bolt's own `Ack` builds the HTTP response; a listener only calls it, so recording the
    call is all a direct test needs. `snapshot` tells what had already happened when the
    listener acknowledged (e.g. how many Slack calls were made before it).
    """

    def __init__(self, snapshot: Callable[[], object] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.seen: list[object] = []
        self._snapshot = snapshot

    def __call__(self, text: str = "", **kwargs: Any) -> None:
        if self._snapshot is not None:
            self.seen.append(self._snapshot())
        self.calls.append({"text": text, **kwargs})
