"""The digest's chart: mentions per hour over the last 7 days, stacked by sentiment, as a PNG.

matplotlib is imported only here and only when a chart is drawn (Agg, no display), so the
running app does not pay for it until a digest goes out.
"""

from __future__ import annotations

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.durations import short_duration
from bot.services.digest import SENTIMENTS, Digest

WIDTH_PX = 1200
HEIGHT_PX = 600
DPI = 100
# Okabe & Ito's palette, which reads for the common colour-vision deficiencies; negative and
# positive differ in lightness too (vermillion against bluish green).
COLOURS = {
    "negative": "#D55E00",
    "neutral": "#56B4E9",
    "positive": "#009E73",
    "mixed": "#E69F00",
    "unknown": "#999999",
}
FONT_PT = 15  # legible when Slack shows the image at about a third of its width


def chart_alt_text(digest: Digest) -> str:
    """What the chart shows, in words, for people who can't see it."""
    counts = {label: sum(digest.hourly[label]) for label in SENTIMENTS}
    split = ", ".join(f"{counts[label]} {label}" for label in SENTIMENTS if counts[label])
    total = sum(counts.values())
    peak = max(range(len(digest.hours)), key=lambda i: _hour_total(digest, i), default=None)
    text = f"Mentions per hour over the last 7 days: {total} in all ({split or 'none'})."
    if peak is not None and total:
        at = digest.hours[peak].astimezone(ZoneInfo(digest.period.zone))
        text += f" Busiest hour: {at:%a %d %b %H:00} with {_hour_total(digest, peak)}."
    if digest.claim.median_s is not None:
        text += f" Median time to claim on the day: {_duration(digest.claim.median_s)}."
    return text


def _hour_total(digest: Digest, hour: int) -> int:
    return sum(digest.hourly[label][hour] for label in SENTIMENTS)


def _duration(seconds: int) -> str:
    return short_duration(timedelta(seconds=seconds)) or "under a minute"


def draw_chart(digest: Digest) -> bytes:
    """Draw the stacked hourly bars as a WIDTH_PX × HEIGHT_PX PNG; the digest's days shaded."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    zone = ZoneInfo(digest.period.zone)
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    axes = figure.add_subplot()
    positions = list(range(len(digest.hours)))
    bottom = [0] * len(positions)
    for label in SENTIMENTS:
        values = digest.hourly[label]
        if not any(values):
            continue
        axes.bar(
            positions,
            values,
            width=1.0,
            bottom=bottom,
            color=COLOURS[label],
            label=label,
            linewidth=0,
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    first = next(
        (i for i, hour in enumerate(digest.hours) if hour >= digest.period.start), len(positions)
    )
    axes.axvspan(first - 0.5, len(positions) - 0.5, color="#000000", alpha=0.06, linewidth=0)
    ticks = [i for i, hour in enumerate(digest.hours) if hour.astimezone(zone).hour == 0]
    axes.set_xticks(ticks, [f"{digest.hours[i].astimezone(zone):%a %d}" for i in ticks])
    axes.set_xlim(-0.5, len(positions) - 0.5)
    axes.set_ylim(0, max(max(bottom, default=0), 1) * 1.08)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(labelsize=FONT_PT)
    axes.set_ylabel("mentions per hour", fontsize=FONT_PT)
    title = f"Mentions per hour, last 7 days ({digest.period.zone})"
    if digest.claim.median_s is not None:
        # The shaded days are the digest's; their median wait is written over them.
        title += f" · shaded: median time to claim {_duration(digest.claim.median_s)}"
    figure.suptitle(title, fontsize=FONT_PT + 1)
    axes.spines[["top", "right"]].set_visible(False)
    if any(bottom):
        axes.legend(
            fontsize=FONT_PT - 1,
            frameon=False,
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncols=5,
        )
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
