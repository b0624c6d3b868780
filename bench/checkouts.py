"""Old against new in one run: each measurement a fresh child process of the calling script,
run with one checkout's code, the checkouts taken in turn (round-robin over the repeats).

Shared by ``bench/profile_data_page.py`` and ``bench/profile_first_fit.py``. The child is the
calling script itself with ``--child ROOT`` and the given arguments; its last line of output is
the measurement as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

Measurement = dict[str, float]


def load_average() -> list[str]:
    """The machine's 1, 5 and 15 minute load averages, as /proc/loadavg gives them."""
    return Path("/proc/loadavg").read_text().split()[:3]


def run_child(script: str | Path, root: Path, arguments: list[str]) -> Measurement:
    """One measurement: ``script --child ROOT ARGUMENTS`` with ``root``'s code first on the path."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, str(script), "--child", str(root), *arguments]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child for {root} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def round_robin(
    roots: str, repeats: int, data: Path, measure: Callable[[Path], Measurement]
) -> dict[Path, list[Measurement]]:
    """``measure(root)`` for each comma-separated checkout in turn, ``repeats`` times over;
    the load average printed before and after."""
    if not data.exists():
        raise SystemExit(f"no data file {data}: run bench/bench_app.py once to write it")
    paths = [Path(r).resolve() for r in roots.split(",")]
    print(f"load average at start: {load_average()}")
    runs: dict[Path, list[Measurement]] = {p: [] for p in paths}
    for _ in range(repeats):
        for root in paths:
            runs[root].append(measure(root))
    return runs
