"""Who may change overheard from Slack: workspace admins and owners, plus a configured list."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

# users.info is Tier 4 (~100/min): remember each answer this long.
ADMIN_CACHE_TTL_S = 300.0
REFUSAL = (
    "Sorry, only workspace admins and owners (and the people listed in OVERHEARD_ADMINS) "
    "can change overheard. Anyone can look: try `/overheard help`."
)


class AdminCheck:
    """Answers "may this user change overheard?", asking Slack's users.info at most every TTL."""

    def __init__(
        self,
        client: WebClient,
        configured: frozenset[str],
        *,
        ttl_s: float = ADMIN_CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._configured = configured
        self._ttl_s = ttl_s
        self._clock = clock
        self._known: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def is_admin(self, user_id: str) -> bool:
        """True for a configured admin or a workspace admin or owner; False when Slack can't say."""
        if user_id in self._configured:
            return True
        now = self._clock()
        with self._lock:
            known = self._known.get(user_id)
        if known is not None and now - known[1] < self._ttl_s:
            return known[0]
        try:
            user = self._client.users_info(user=user_id)["user"]
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
            return False  # refuse rather than guess; not cached, so the next try asks again
        allowed = bool(
            user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")
        ) and not user.get("deleted", False)
        with self._lock:
            self._known[user_id] = (allowed, now)
        return allowed
