"""Settings as a hosting platform hands them over, and secrets kept out of sight."""

from __future__ import annotations

import logging

import pytest

from bot.config import Settings
from bot.logs import RedactTokens, configure_logging
from bot.text import redact
from tests.conftest import make_settings


@pytest.mark.parametrize(
    "url",
    ["postgres://u:p@db.example:5432/app", "postgresql://u:p@db.example:5432/app"],
)
def test_platform_postgres_urls_use_the_installed_driver(url: str) -> None:
    assert make_settings(DATABASE_URL=url).database_url == (
        "postgresql+psycopg://u:p@db.example:5432/app"
    )


def test_defaults_need_no_environment_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.database_url == "sqlite:///overheard.db"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert not settings.slack_configured


def test_settings_never_print_their_secrets() -> None:
    settings = make_settings(SLACK_BOT_TOKEN="xoxb-1-secret", SLACK_SIGNING_SECRET="shh")

    shown = repr(settings) + str(settings.model_dump())

    assert "xoxb-1-secret" not in shown and "shh" not in shown


def test_a_slack_api_url_without_a_slash_still_joins_method_names() -> None:
    assert make_settings(SLACK_API_URL="http://127.0.0.1:9/api").slack_api_url == (
        "http://127.0.0.1:9/api/"
    )


def test_log_lines_have_slack_tokens_redacted() -> None:
    record = logging.LogRecord(
        "slack",
        logging.ERROR,
        __file__,
        1,
        "auth failed for %s and %s",
        ("xoxb-123-456-abcDEF", "xapp-1-A0-789-zz"),
        None,
    )

    RedactTokens().filter(record)

    message = record.getMessage()
    assert "abcDEF" not in message and "789-zz" not in message
    assert message == "auth failed for xoxb-[redacted] and xapp-[redacted]"


def test_authorization_credentials_in_log_lines_are_redacted() -> None:
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "sent %s",
        ("Authorization: Bearer eyJhbGci.x.y",),
        None,
    )

    RedactTokens().filter(record)

    assert record.getMessage() == "sent Authorization: Bearer [redacted]"


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("xoxb-123-456-abcDEF", "xoxb-[redacted]"),
        ("xoxp-1-2-3-abc", "xoxp-[redacted]"),
        ("xoxe-1-My0xLTEyMzQ1", "xoxe-[redacted]"),  # a refresh token
        ("xoxe.xoxp-1-Mi0yLTEyMzQ", "xoxe-[redacted]"),  # a rotating access token
        ("xapp-1-A0-789-zz", "xapp-[redacted]"),
        ("https://x.test/s?key=abc123&q=1", "https://x.test/s?key=[redacted]&q=1"),
        (
            "https://x.test/t?client_secret=abc&access_token=def",
            "https://x.test/t?client_secret=[redacted]&access_token=[redacted]",
        ),
    ],
)
def test_every_token_shape_and_url_secret_is_masked(secret: str, shown: str) -> None:
    assert redact(f"failed: {secret} (again).") == f"failed: {shown} (again)."


def test_a_logged_traceback_is_masked_too(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("INFO")
    try:
        raise RuntimeError("invalid_auth for xoxb-123-456-abcDEF with Bearer eyJhbGci.x.y")
    except RuntimeError:
        logging.getLogger("overheard.test").exception("Slack call failed")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])

    err = capsys.readouterr().err
    assert "Traceback" in err and "Slack call failed" in err
    assert "abcDEF" not in err and "eyJhbGci" not in err
    assert "xoxb-[redacted]" in err and "Bearer [redacted]" in err


def test_the_workspace_time_zone_is_utc_unless_set_and_must_exist() -> None:
    from pydantic import ValidationError

    assert make_settings().timezone == "UTC"
    assert make_settings(OVERHEARD_TIMEZONE="Europe/Berlin").timezone == "Europe/Berlin"
    with pytest.raises(ValidationError, match="unknown time zone 'Europe/Atlantis'"):
        make_settings(OVERHEARD_TIMEZONE="Europe/Atlantis")


def test_the_log_level_is_any_case_of_a_known_name_and_nothing_else() -> None:
    assert make_settings(OVERHEARD_LOG_LEVEL="debug").log_level == "DEBUG"
    with pytest.raises(ValueError, match="must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"):
        make_settings(OVERHEARD_LOG_LEVEL="LOUD")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "set it to a database URL"),
        ("not a url", "not a database URL"),
        ("mysql://u@db.example/app", "overheard runs on SQLite or PostgreSQL, not mysql"),
    ],
)
def test_a_database_url_overheard_cant_use_is_refused_at_start_up(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_settings(DATABASE_URL=url)
