"""Predicted value (``core.clv``): fit and predictions at 100,000 customers, and the holdout
check on the UCI file.

Usage::

    flock /tmp/bench.lock python3 bench/bench_clv.py [--customers 100000] [--seed 11]
        [--repeats 5] [--no-real]

Generates (once, cached in ``bench/out/``) the project's seeded synthetic transactions for
``--customers`` customers, cleans them as the app does (``build_customer_table``), then times
in one process, ``--repeats`` times, medians:

- ``days + summary`` (the baseline of the same run): the cleaned lines grouped into purchase
  days and per-customer x, t_x, T and repeat spend (Polars);
- ``fit + predict`` (the target, issue 15: <= 2 s at 100,000 customers): BG/NBD and
  Gamma-Gamma fits and p_alive / expected_orders / expected_avg_order_value /
  predicted_revenue for every customer (``core.clv.fit_*`` and ``predictions``);
- ``holdout``: the weekly holdout check, when the calibration end leaves lines after it.

The calibration end is 13 weeks before the last purchase day. On the UCI file
(``../shared/data/online_retail.parquet``) it prints the report of ``custseg clv`` with
calibration end 2011-09-09 in weeks. Exit status 1 when fit + predict misses 2 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
REAL = ROOT.parent / "shared" / "data" / "online_retail.parquet"
TARGET_S = 2.0


def dataset(customers: int, seed: int) -> Path:
    from core.generator import write_transactions

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"app_{customers}_customers_seed{seed}.parquet"  # the file bench_app uses
    if not path.exists():
        start = time.perf_counter()
        rows = write_transactions(path, customers=customers, seed=seed)
        print(f"generated {rows:,} lines in {time.perf_counter() - start:.1f} s -> {path}")
    return path


def timed(func: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def measure(path: Path, repeats: int) -> bool:
    from core import clv
    from core.pipeline import build_customer_table, load_transactions

    table = build_customer_table(load_transactions(path))
    lines = clv.table_lines(table).collect().lazy()  # read back once, outside the clocks
    days = clv.purchase_days(lines)
    last = days["day"].max()
    assert isinstance(last, dt.date)
    end = last - dt.timedelta(weeks=13)

    def summary() -> Any:
        return clv.customer_summary(clv.purchase_days(lines), end, "week")

    t_summary, s = timed(summary, repeats)
    x, tx, age = (s[c].to_numpy() for c in ("frequency", "recency", "T"))
    m = s["repeat_spend"].fill_null(float("nan")).to_numpy()

    def fit_predict() -> Any:
        bg, gg = clv.fit_bgnbd(x, tx, age), clv.fit_gamma_gamma(x, m)
        return bg, gg, clv.predictions(s, bg, gg, 52.0)

    t_fit, (bg, gg, _) = timed(fit_predict, repeats)
    t_hold, _ = timed(
        lambda: clv.holdout_check(days, s, bg, end=end, last=last, unit="week"), repeats
    )
    print(
        f"{path.name}: {table.audit.rows_kept:,} purchase lines, {s.height:,} customers "
        f"up to {end} ({int((s['frequency'] > 0).sum()):,} repeat)"
    )
    print(f"  BG/NBD {bg}\n  Gamma-Gamma {gg}")
    print(f"  {'step':<18}{'median s':>10}{'x baseline':>12}")
    for name, value in (
        ("days + summary", t_summary),
        ("fit + predict", t_fit),
        ("holdout (weekly)", t_hold),
    ):
        print(f"  {name:<18}{value:>10.3f}{value / t_summary:>12.2f}")
    ok = t_fit <= TARGET_S
    print(f"  target fit + predict <= {TARGET_S} s: {'met' if ok else 'MISSED'}")
    return ok


def real_report() -> None:
    import json

    from core import clv
    from core.pipeline import build_customer_table, load_transactions

    table = build_customer_table(load_transactions(REAL))
    config = clv.ClvConfig(calibration_end=dt.date(2011, 9, 9), time_unit="week")
    start = time.perf_counter()
    result = clv.predict_clv(clv.table_lines(table), config)
    took = time.perf_counter() - start
    report = result.report()
    weeks = report["holdout"].pop("weeks")
    print(f"\n{REAL.name}, calibration end 2011-09-09, weeks ({took:.2f} s from cleaned lines):")
    print(json.dumps(report, indent=1))
    print("  week starting   days  predicted  actual")
    for w in weeks:
        print(f"  {w['start']:<15}{w['days']:>5}{w['predicted']:>11.1f}{w['actual']:>8}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-real", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    ok = measure(dataset(args.customers, args.seed), args.repeats)
    if not args.no_real and REAL.exists():
        real_report()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
