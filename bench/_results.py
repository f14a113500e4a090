"""`bench/results.json`: each benchmark's latest figures, kept beside the code they measure."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_PATH = Path(__file__).resolve().parent / "results.json"


def record(name: str, figures: dict[str, Any], *, path: Path = RESULTS_PATH) -> None:
    """Store `figures` under `name` with when and where they were measured; keep the others."""
    results = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    results[name] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}",
        **figures,
    }
    text = json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
