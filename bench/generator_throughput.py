"""Measure generator throughput (lines per second), in memory and streamed to a file.

Usage: python3 bench/generator_throughput.py [--lines 5000000] [--out /tmp/gen.parquet]

Reports wall and CPU time (the machine may be shared), lines/s and peak RSS growth. Prints
figures; asserts nothing (speed is not a test).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.generator import iter_transaction_blocks, write_transactions


class PeakRss:
    """Samples the process RSS every 50 ms in a thread; .peak is the maximum seen (bytes)."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, action="append", default=[])
    args = parser.parse_args()

    base = psutil.Process().memory_info().rss
    with PeakRss() as mem:
        t0, c0 = time.perf_counter(), time.process_time()
        rows = 0
        for frame in iter_transaction_blocks(seed=args.seed, customers=None):
            rows += frame.height
            if rows >= args.lines:
                break
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"generate (blocks, in memory): {rows:,} lines in {dt:.2f} s wall ({cpu:.2f} s CPU) = "
        f"{rows / dt / 1e6:.2f} M lines/s, peak RSS +{(mem.peak - base) / 2**20:.0f} MiB"
    )
    for out in args.out:
        base = psutil.Process().memory_info().rss
        with PeakRss() as mem:
            t0, c0 = time.perf_counter(), time.process_time()
            rows = write_transactions(out, lines=args.lines, seed=args.seed)
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(
            f"write {out.suffix}: {rows:,} lines in {dt:.2f} s wall ({cpu:.2f} s CPU) = "
            f"{rows / dt / 1e6:.2f} M lines/s, "
            f"{out.stat().st_size / 2**20:.0f} MiB, peak RSS +{(mem.peak - base) / 2**20:.0f} MiB"
        )


if __name__ == "__main__":
    main()
