"""Run every benchmark: each `bench/*.py` module's `main()`, in name order.

Modules named `train_*` write files and `_*` modules are helpers: neither is run.
"""

from __future__ import annotations

import importlib
import pkgutil

import bench


def benchmark_modules() -> list[str]:
    """The names of the modules `python -m bench` runs."""
    return sorted(
        f"bench.{module.name}"
        for module in pkgutil.iter_modules(bench.__path__)
        if not module.ispkg and not module.name.startswith(("_", "train_"))
    )


def main() -> None:
    """Import each benchmark module and call its `main()`."""
    for name in benchmark_modules():
        entry = getattr(importlib.import_module(name), "main", None)
        if callable(entry):
            print(f"== {name}")
            entry()


if __name__ == "__main__":
    main()
