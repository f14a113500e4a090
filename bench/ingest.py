"""Benchmark: ingest speed against bare TextBlob (`ingest_ratio_vs_textblob`).

Target (issue 12): at least 0.7. Ingest is everything after a network's response is parsed:
each mention stored with its author, scored (sentiment, reach, priority) and its card queued,
in one transaction per page of 50, on a SQLite file, as `ingest_mentions` does for a fetch.
Bare TextBlob is `TextBlob(text).sentiment` on the same texts (the dev tweets). The two take
turns page by page, each page's best time over a few rounds kept, so other work on the
machine slows both alike. Prints mentions/s, texts/s and the ratio, and records them in
`bench/results.json`.

    python -m bench.ingest
"""

from __future__ import annotations

import csv
import math
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textblob import TextBlob

from bench._results import record
from bot.services.pipeline import ingest_mentions
from bot.sources.base import FetchedAuthor, FetchedMention
from bot.store import migrate
from bot.store.db import make_engine, session_scope
from bot.store.models import Watch

TEXTS = Path(__file__).resolve().parent / "data" / "sentiment" / "tweets_dev.tsv"
PAGE = 50  # mentions per fetch page, one transaction each
ROUNDS = 3
TARGET_RATIO = 0.7
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def load_texts(path: Path = TEXTS) -> list[str]:
    """The texts of a rated TSV (id, mean_rating, text)."""
    with path.open(encoding="utf-8", newline="") as f:
        return [row["text"] for row in csv.DictReader(f, delimiter="\t")]


def fetched_page(texts: list[str], *, start: int, tag: str) -> list[FetchedMention]:
    """Parsed mentions, as a source hands them over; each author posts five in a row."""
    return [
        FetchedMention(
            network="hackernews",
            external_id=f"{tag}-{start + i}",
            url=f"https://news.ycombinator.com/item?id={start + i}",
            text=text,
            created_at=NOW - timedelta(seconds=start + i),
            author=FetchedAuthor(handle=f"user{(start + i) % (len(texts) * 4) // 5}"),
            conversation_id=str(1_000 + (start + i) // 10),
        )
        for i, text in enumerate(texts)
    ]


def main() -> None:
    """Run the benchmark and print its figures."""
    texts = load_texts()
    pages = [texts[i : i + PAGE] for i in range(0, len(texts), PAGE)]
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'ingest.db'}")
        migrate.upgrade(engine)
        with session_scope(engine) as session:
            watch = Watch(
                query="acme", sources=["hackernews"], channel_id="C0BENCH", created_at=NOW
            )
            session.add(watch)

        def ingest(page: list[str], start: int, tag: str) -> None:
            batch = fetched_page(page, start=start, tag=tag)
            with session_scope(engine) as session:
                ingest_mentions(batch, watch=watch, authors={}, session=session, now=NOW)

        def textblob(page: list[str], _start: int, _tag: str) -> None:
            for text in page:
                TextBlob(text).sentiment  # noqa: B018  (the work being timed)

        runners: dict[str, Callable[[list[str], int, str], None]] = {
            "textblob": textblob,
            "ingest": ingest,
        }
        ingest(texts[:1], 0, "warm")
        textblob(texts[:1], 0, "warm")
        best = {name: [math.inf] * len(pages) for name in runners}
        for r in range(ROUNDS):
            for p, page in enumerate(pages):
                for name, run in runners.items():
                    started = time.perf_counter()
                    run(page, p * PAGE, f"r{r}")
                    best[name][p] = min(best[name][p], time.perf_counter() - started)
        engine.dispose()
    ingest_rate = len(texts) / sum(best["ingest"])
    textblob_rate = len(texts) / sum(best["textblob"])
    ratio = ingest_rate / textblob_rate
    print(
        f"ingest: {len(texts)} parsed mentions (dev tweets) stored, scored and queued, "
        f"{PAGE} per transaction, SQLite"
    )
    print(f"  ingest {ingest_rate:.0f} mentions/s; bare TextBlob {textblob_rate:.0f} texts/s")
    verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
    print(f"  ratio {ratio:.2f}; target {TARGET_RATIO}: {verdict}")
    sys.stdout.flush()
    record(
        "ingest",
        {
            "mentions": len(texts),
            "page": PAGE,
            "database": "sqlite",
            "ingest_mentions_per_s": round(ingest_rate),
            "textblob_texts_per_s": round(textblob_rate),
            "ingest_ratio_vs_textblob": round(ratio, 3),
            "target_ratio": TARGET_RATIO,
            "target_met": ratio >= TARGET_RATIO,
        },
    )


if __name__ == "__main__":
    main()
