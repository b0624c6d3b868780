"""Load test: 20 users, each uploading their own ~49 MB CSV, on the documented deployment.

Usage (heavy: run it under the shared lock)::

    flock /tmp/bench.lock python3 bench/bench_load.py [--users 20] [--customers 5600]
                                                      [--stagger 0.5] [--workers 2]

Starts ``custseg serve --workers 2`` (gunicorn, 4 threads per worker; its own cache folder and
secret key; sign-in off, as the requests are scripted) and runs ``--users`` simulated users at
once (:mod:`bench.app_client`: the callback requests the browser posts, no Chromium). Each
user has a CSV of its own, made by the project's generator (``--customers`` customers, a
distinct seed per user, so nothing is shared by content: about 49 MB at 5,600 customers), and:

1. ``upload``: posts the file as the Data page's upload does (a base64 data URL);
2. ``data page``: the Data page's render (mapping, cleaning audit, preview);
3. ``model fit``: the Model page's render; when the fit goes to the background queue, starts
   the job, polls it every 250 ms as the page does and renders the panels once it is done;
4. ``segments``: the Segments page's render;
5. ``export``: the CSV list of the first segment.

Prints, per step, the count, failures, median, p95 and max (wall seconds), and the peak RSS of
the server's processes (the gunicorn master and its workers, sampled every 0.2 s: their sum,
and the largest single process) against the memory budget of one process.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.app_client import Client, local_app, start_server
from core.generator import generate_transactions
from core.io import memory_budget_bytes
from dashapp.services import get_services
from dashapp.shared import ids as app_ids
from dashapp.state import new_state

STEPS = ("upload", "data page", "model fit", "segments", "export")
UPLOAD = "dashapp.pages.data.callbacks:upload_file"
DATA = "dashapp.pages.data.callbacks:render"
MODEL = "dashapp.pages.model.callbacks:render"
FIT_JOB = "dashapp.shared.jobs:page_job@model-job-done"
AFTER_JOB = "dashapp.pages.model.callbacks:render_after_job"
SEGMENTS = "dashapp.pages.segments.callbacks:render"
EXPORT = "dashapp.pages.export.callbacks:download_list"


def make_files(folder: Path, users: int, customers: int) -> list[Path]:
    """One CSV per user (seeded by the user's number), in the UCI file's columns."""
    files = []
    for user in range(users):
        path = folder / f"user{user:02d}_{customers}_customers.csv"
        if not path.exists():
            frame = generate_transactions(customers=customers, seed=1000 + user)
            frame.write_csv(path, datetime_format="%Y-%m-%d %H:%M")
        files.append(path)
    return files


class Peak:
    """Peak RSS of a process and its children, sampled on a thread."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.total = self.single = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                sizes = []
                for proc in procs:
                    try:
                        sizes.append(proc.memory_info().rss)
                    except psutil.Error:
                        continue
                self.total = max(self.total, sum(sizes))
                self.single = max(self.single, max(sizes, default=0))
            except psutil.Error:
                pass
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _session(answer: Any) -> Any:
    return answer[app_ids.SESSION]["data"]


def user_run(client: Client, path: Path, data: dict, times: dict[str, float]) -> None:
    """One user's visit; ``times[step]`` = wall seconds of each step done."""
    start = time.perf_counter()
    url = "data:text/csv;base64," + base64.b64encode(path.read_bytes()).decode()
    answer = client.callback(UPLOAD, [url], [path.name, data])
    data = _session(answer)
    times["upload"] = time.perf_counter() - start

    start = time.perf_counter()
    client.callback(DATA, [data])
    times["data page"] = time.perf_counter() - start

    start = time.perf_counter()
    out = client.callback(MODEL, [data]) or {}
    job = out.get("model-job", {}).get("data")
    if job:
        started = client.start_background(FIT_JOB, [job], [data])
        done, _seen = client.poll(started)
        result = (done or {}).get("model-job-done", {}).get("data")
        if not isinstance(result, dict) or "key" not in result:
            raise RuntimeError(f"the fit did not finish: {result!r}")
        client.callback(AFTER_JOB, [result], [data])
    times["model fit"] = time.perf_counter() - start

    start = time.perf_counter()
    client.callback(SEGMENTS, [data, None])
    times["segments"] = time.perf_counter() - start

    start = time.perf_counter()
    sent = client.callback(EXPORT, [1], [[0], "csv", data])
    if not sent:
        raise RuntimeError("the export sent nothing")
    times["export"] = time.perf_counter() - start


def run_user(client: Client, path: Path, data: dict, out: dict[str, Any]) -> None:
    times: dict[str, float] = {}
    out["times"] = times
    try:
        user_run(client, path, data, times)
    except Exception as exc:  # noqa: BLE001  (any failure is a dropped step, reported below)
        out["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(results: list[dict[str, Any]], peak: Peak, files: list[Path], wall: float) -> None:
    size = statistics.mean(p.stat().st_size for p in files) / 1e6
    print(f"{len(results)} users, one CSV each ({size:.1f} MB on average), all at once")
    print(f"{'step':<10} {'done':>5} {'failed':>6} {'median':>8} {'p95':>8} {'max':>8}  (seconds)")
    for step in STEPS:
        values = [r["times"][step] for r in results if step in r["times"]]
        failed = len(results) - len(values)
        if values:
            print(
                f"{step:<10} {len(values):>5} {failed:>6} {statistics.median(values):>8.1f} "
                f"{p95(values):>8.1f} {max(values):>8.1f}"
            )
        else:
            print(f"{step:<10} {0:>5} {failed:>6}")
    for r in results:
        if "error" in r:
            print("error:", r["error"])
    budget = memory_budget_bytes() / 1024**2
    print(f"all users done in {wall:.0f} s")
    print(
        f"peak RSS: server processes together {peak.total / 1024**2:,.0f} MB, largest single "
        f"process {peak.single / 1024**2:,.0f} MB (memory budget per file {budget:,.0f} MB)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--customers", type=int, default=5600)
    parser.add_argument("--stagger", type=float, default=0.5, help="seconds between starts")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    data_dir = Path(__file__).resolve().parent / "out" / "load"
    data_dir.mkdir(parents=True, exist_ok=True)
    files = make_files(data_dir, args.users, args.customers)
    with tempfile.TemporaryDirectory(prefix="load-") as folder:
        cache = Path(folder)
        server, url, key = start_server(cache, workers=args.workers)
        peak = Peak(server.pid)
        try:
            app = local_app(cache, key)
            services = get_services(app.server)
            results: list[dict[str, Any]] = [{} for _ in files]
            threads = []
            start = time.perf_counter()
            for path, out in zip(files, results, strict=True):
                client = Client(url, app)
                data = new_state(services).to_json()
                thread = threading.Thread(target=run_user, args=(client, path, data, out))
                thread.start()
                threads.append(thread)
                time.sleep(args.stagger)
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - start
        finally:
            peak.stop()
            server.terminate()
            server.wait(60)
    report(results, peak, files, wall)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
