"""Logging set-up, as text or JSON lines, with a filter that keeps tokens out of every line."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

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


# Ids the code passes with `extra=`, so a JSON log line can be searched by them.
CONTEXT_FIELDS = ("watch_id", "mention_id", "card_id", "channel_id", "network")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the context ids, and the
    traceback as `exc_info` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value if isinstance(value, int | float | bool) else str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = record.stack_info
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, *, fmt: str = "text") -> None:
    """Log to stderr at `level` as text or JSON lines (`fmt`), tokens redacted, chatty
    libraries quieter."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("alembic", "httpx", "httpcore", "slack_sdk", "slack_bolt"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # A long posting pass makes the scheduler skip a tick; that is by design, not a warning.
    logging.getLogger("apscheduler").setLevel(max(logging.ERROR, root.level))
