"""Logging set-up, with a filter that keeps Slack tokens out of every log line."""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"\b(xox[abposr]|xapp)-[A-Za-z0-9-]+")
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


class RedactTokens(logging.Filter):
    """Replace Slack tokens and Authorization credentials with a redaction marker."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _BEARER.sub(r"\1 [redacted]", _TOKEN.sub(r"\1-[redacted]", message))
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str) -> None:
    """Log to stderr at `level`, tokens redacted, chatty libraries quieter."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("alembic", "httpx", "httpcore", "slack_sdk", "slack_bolt"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # A long posting pass makes the scheduler skip a tick; that is by design, not a warning.
    logging.getLogger("apscheduler").setLevel(max(logging.ERROR, root.level))
