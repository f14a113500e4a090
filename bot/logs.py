"""Logging set-up, with a filter that keeps Slack tokens out of every log line."""

from __future__ import annotations

import logging

from bot.text import redact


class RedactTokens(logging.Filter):
    """Mask secrets in a record's message and in its traceback, whatever formats it later."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
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
