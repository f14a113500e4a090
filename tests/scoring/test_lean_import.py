"""Scoring a mention loads TextBlob's lexicon, not its whole toolkit (NLTK, SciPy)."""

from __future__ import annotations

import subprocess
import sys


def test_scoring_sentiment_imports_no_nltk() -> None:
    probe = (
        "import sys\n"
        "from scoring.sentiment import analyze\n"
        "assert analyze('acme is terrible and broken').label == 'negative'\n"
        "print(sorted(m for m in ('nltk', 'scipy', 'numpy', 'textblob') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_textblob_itself_still_works_after_the_lexicon_was_loaded_alone() -> None:
    probe = (
        "from scoring.sentiment import analyze\n"
        "analyze('fine')\n"
        "from textblob import TextBlob\n"
        "print(TextBlob('a good day').sentiment.polarity > 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "True"
