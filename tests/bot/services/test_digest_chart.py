"""The digest's chart is a real PNG of the expected size, described in words."""

from __future__ import annotations

import struct
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import Engine

from bot.services.digest_chart import HEIGHT_PX, WIDTH_PX, chart_alt_text, draw_chart
from tests.bot.services.test_digest import DAY, at, digest_of, seed_week

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_chart_is_a_png_of_the_expected_size(sqlite_engine: Engine) -> None:
    seed_week(sqlite_engine)

    data = draw_chart(digest_of(sqlite_engine))

    assert png_size(data) == (WIDTH_PX, HEIGHT_PX) == (1200, 600)
    assert data.endswith(b"IEND\xaeB`\x82")


def test_the_alt_text_says_the_totals_the_busiest_hour_and_the_median(
    sqlite_engine: Engine,
) -> None:
    seed_week(sqlite_engine)
    # A busier hour on the 24th: three more at 09:00.
    from tests.bot.services.test_digest import add_card

    for i in range(3):
        add_card(sqlite_engine, at(DAY - timedelta(days=1), 9, 10 + i), text=f"x{i}")

    text = chart_alt_text(digest_of(sqlite_engine))

    assert text == (
        "Mentions per hour over the last 7 days: 15 in all (7 negative, 1 neutral, "
        "6 positive, 1 unknown). Busiest hour: Tue 24 Nov 09:00 with 4. "
        "Median time to claim on the day: 20 min."
    )


def test_the_app_does_not_load_matplotlib_until_a_chart_is_drawn() -> None:
    probe = (
        "import sys, bot.services.scheduler, bot.services.digest_delivery, bot.slack.chat;"
        "print('matplotlib' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"
