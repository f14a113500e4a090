"""How soon a newcomer sees cards: `overheard run` without Slack tokens, to the 7 sample cards.

Each run starts the real command in a fresh process on a fresh SQLite database (migrated
first, as `make run` does) and times from the process start to the seventh card printed on
the console. Prints the median and the spread and records them in bench/results.json.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench._results import record

RUNS = 5
SAMPLE_CARDS = 7
TARGET_S = 10.0  # the promise in the README: cards within ten seconds of `make run`
DEADLINE_S = 120.0  # a run that shows nothing by then has failed
BUTTONS = "[Claim] [Resolve] [Dismiss]"


def _environment(folder: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "OVERHEARD_", "DATABASE_URL"))
    }
    env["DATABASE_URL"] = f"sqlite:///{folder / 'overheard.db'}"
    return env


def time_to_cards() -> float:
    """Seconds from starting `overheard run` to the seventh sample card on its console."""
    with tempfile.TemporaryDirectory() as tmp:
        env = _environment(Path(tmp))
        subprocess.run(
            [sys.executable, "-m", "bot", "db", "upgrade"], env=env, check=True, capture_output=True
        )
        started = time.perf_counter()
        with subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=env,
            cwd=tmp,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        ) as proc:
            assert proc.stdout is not None
            watchdog = threading.Timer(DEADLINE_S, proc.kill)
            watchdog.start()
            seen = 0
            try:
                for line in proc.stdout:
                    seen += BUTTONS in line
                    if seen >= SAMPLE_CARDS:
                        return time.perf_counter() - started
            finally:
                watchdog.cancel()
                proc.kill()
    raise SystemExit(f"bench console: only {seen} of {SAMPLE_CARDS} cards appeared")


def main() -> None:
    """Run the benchmark and print its figures."""
    times = sorted(time_to_cards() for _ in range(RUNS))
    median = statistics.median(times)
    print(f"console: `overheard run` without Slack to {SAMPLE_CARDS} sample cards, {RUNS} runs")
    print(
        f"  median {median:.2f} s (min {times[0]:.2f}, max {times[-1]:.2f}); "
        f"target {TARGET_S:.0f} s: {median / TARGET_S:.2f} of it "
        f"({'met' if times[-1] < TARGET_S else 'MISSED'})"
    )
    record(
        "console",
        {
            "runs": RUNS,
            "cards": SAMPLE_CARDS,
            "median_s": round(median, 3),
            "min_s": round(times[0], 3),
            "max_s": round(times[-1], 3),
            "target_s": TARGET_S,
        },
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
