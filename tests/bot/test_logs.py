"""JSON log lines: one object per line, searchable by watch, mention and card, tokens masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from bot.logs import configure_logging
from tests.conftest import make_settings


@pytest.fixture
def json_logging() -> Iterator[io.StringIO]:
    """JSON logging as configured for stderr, written here instead."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("INFO", fmt="json")
    (handler,) = root.handlers
    out = io.StringIO()
    handler.setStream(out)  # type: ignore[attr-defined]
    try:
        yield out
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_each_record_is_one_json_object_with_the_ids_passed_along(
    json_logging: io.StringIO,
) -> None:
    log = logging.getLogger("bot.services.poster")
    log.warning("posting card %d failed", 7, extra={"card_id": 7, "channel_id": "C0SUPPORT"})
    log.info("fetched", extra={"watch_id": 3, "network": "hackernews", "mention_id": 41})

    err = json_logging.getvalue()
    first, second = (json.loads(line) for line in err.splitlines())

    assert first["level"] == "WARNING" and first["logger"] == "bot.services.poster"
    assert first["message"] == "posting card 7 failed"
    assert (first["card_id"], first["channel_id"]) == (7, "C0SUPPORT")
    assert first["time"].endswith("+00:00")
    assert "watch_id" not in first
    assert (second["watch_id"], second["mention_id"], second["network"]) == (3, 41, "hackernews")


def test_tokens_are_masked_in_the_message_and_the_traceback(
    json_logging: io.StringIO,
) -> None:
    try:
        raise RuntimeError("invalid_auth for xoxb-123-456-abcDEF")
    except RuntimeError:
        logging.getLogger("bot").exception("call with %s failed", "xapp-1-A0-99-secretPART")

    err = json_logging.getvalue()
    (line,) = err.splitlines()
    record = json.loads(line)
    assert "abcDEF" not in err and "secretPART" not in err
    assert record["message"] == "call with xapp-[redacted] failed"
    assert "Traceback" in record["exc_info"] and "xoxb-[redacted]" in record["exc_info"]


def test_the_log_format_is_text_unless_json_is_asked_for() -> None:
    assert make_settings().log_format == "text"
    assert make_settings(OVERHEARD_LOG_FORMAT="json").log_format == "json"
    with pytest.raises(ValidationError):
        make_settings(OVERHEARD_LOG_FORMAT="xml")
