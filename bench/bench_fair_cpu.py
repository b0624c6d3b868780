"""Fair CPU: do expensive fits of other users delay a session's cached request?

Usage::

    python3 bench/bench_fair_cpu.py [--fits 8] [--reps 10] [--source DIR]
    python3 bench/bench_fair_cpu.py --scenario compare [--customers 10000] [--linkage complete]
                                    [--fits 8] [--reps 10] [--source DIR]

Starts the documented deployment (``custseg serve --workers 2``, 4 threads each) on the
embedded default data (3,000 customers) and scripts the Model page's requests (no browser,
:mod:`bench.app_client`):

1. one session's Model page for the default settings, fitted once, then asked ``--reps`` times
   with nothing else running: the baseline latency of a cached request;
2. ``--fits`` other sessions each ask for a Gaussian mixture with k = 30 (distinct seeds, so
   nothing is shared): on this code each goes to the background queue (2 jobs per worker
   process, the others wait and are told their place); the script starts each fit as the page
   would and polls it;
3. while those fits run, the first session's cached request again ``--reps`` times.

Prints both medians and their ratio (loaded / idle), the queue messages the fits were shown,
and how long the fits took. ``--source DIR`` serves another checkout of the code (e.g. an
export of an older commit, to compare); the request bodies come from this checkout.

``--scenario compare``: the same on the Compare page, over a generated table of
``--customers`` (10,000: the largest a complete-linkage tree is built exactly, quadratic in
time and memory). The cached request is one session's Compare page (default settings: a Ward
tree, fitted once); the ``--fits`` other sessions each open Compare with ``--linkage`` and
their own seed (nothing shared): a tree and a K-means fit each, in the request threads on code
without the cost decision, as background jobs on this code. The request bodies are built from
the served code's own callbacks (``/_dash-dependencies``), so ``--source`` may serve code whose
Compare callbacks differ from this checkout's. Run it under ``flock /tmp/bench.lock``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.app_client import ROOT, Client, _outputs, local_app, start_server
from dashapp.services import get_services
from dashapp.shared.modeling import ModelSettings, with_settings
from dashapp.state import new_state

COMPARE_INIT = re.compile(r"(^|\.\.)compare-key\.data(\.\.|$)")  # init_compare's outputs
COMPARE_JOB = "compare-job-done.data"  # the Compare page's background callback (new code)

RENDER = "dashapp.pages.model.callbacks:render"
FIT_JOB = "dashapp.shared.jobs:page_job@model-job-done"
DEAR = {"algorithm": "gmm", "k": 30}


def timed(client: Client, data: dict) -> float:
    start = time.perf_counter()
    out = client.callback(RENDER, [data])
    elapsed = time.perf_counter() - start
    job = out.get("model-job", {}).get("data") if out else None
    assert not job, "the baseline request should be cached, not a background job"
    return elapsed


def dear_fit(client: Client, data: dict, log: dict[str, Any]) -> None:
    """One session's expensive fit, as the Model page runs it (request, job, polls)."""
    start = time.perf_counter()
    out = client.callback(RENDER, [data])
    job = (out or {}).get("model-job", {}).get("data")
    seen: list[Any] = []
    if job:  # a background job: start it and poll until it answers
        started = client.start_background(FIT_JOB, [job], [data])
        _answer, seen = client.poll(started)
    log["seconds"] = time.perf_counter() - start
    log["background"] = bool(job)
    log["queue"] = [
        text
        for p in seen
        for key, text in p.items()
        if "progress-text" in key and "Waiting" in text
    ]


def server_callback(deps: list[dict[str, Any]], matches: Any) -> dict[str, Any]:
    """The served app's callback (of ``/_dash-dependencies``) whose output ``matches``."""
    (found,) = [d for d in deps if matches(d["output"])]
    return found


def server_body(dep: dict[str, Any], inputs: list[Any], state: list[Any]) -> dict[str, Any]:
    """The JSON the browser posts for the served callback ``dep``."""
    output = dep["output"]
    outputs = _outputs(output)
    first = dep["inputs"][0]
    return {
        "output": output,
        "outputs": outputs if output.startswith("..") else outputs[0],
        "inputs": [{**d, "value": v} for d, v in zip(dep["inputs"], inputs, strict=True)],
        "state": [{**d, "value": v} for d, v in zip(dep["state"], state, strict=True)],
        "changedPropIds": [f"{first['id']}.{first['property']}"],
    }


def open_compare(
    client: Client, deps: list[dict[str, Any]], data: dict, log: dict[str, Any] | None = None
) -> float:
    """One session opens Compare: init_compare, then its background job when it asks for one
    (polled to the end). Returns the first request's wall seconds."""
    init = server_callback(deps, COMPARE_INIT.search)
    start = time.perf_counter()
    response = client.post(server_body(init, [data], [None, None]))
    first = time.perf_counter() - start
    response.raise_for_status()
    out = response.json().get("response", {})
    job = out.get("compare-job", {}).get("data")
    seen: list[Any] = []
    if job:
        dep = server_callback(deps, lambda o: o == COMPARE_JOB)
        payload = server_body(dep, [job], [data])
        handles = client.post(payload)
        handles.raise_for_status()
        started = {"payload": payload, **{k: handles.json()[k] for k in ("cacheKey", "job")}}
        _answer, seen = client.poll(started)
    if log is not None:
        log["seconds"] = time.perf_counter() - start
        log["background"] = bool(job)
        log["queue"] = [
            text
            for p in seen
            for key, text in p.items()
            if "progress-text" in key and "Waiting" in text
        ]
    return first


def compare_scenario(args: argparse.Namespace) -> tuple[list[float], list[float], list[dict]]:
    """(idle latencies, loaded latencies, the dear sessions' logs) of the Compare scenario."""
    from core.generator import write_transactions

    with tempfile.TemporaryDirectory(prefix="fair-cpu-compare-") as folder:
        cache = Path(folder)
        data_file = cache / f"compare_{args.customers}.parquet"
        write_transactions(data_file, seed=3, customers=args.customers)
        server, url, key = start_server(cache, source=args.source, data=data_file)
        try:
            app = local_app(cache, key, data_file)
            services = get_services(app.server)
            cached = new_state(services).to_json()
            client = Client(url, app)
            deps = client.http.get(url + "/_dash-dependencies", timeout=60).json()
            for _ in range(6):  # fitted once, then cached in both workers' memory
                open_compare(client, deps, cached)
            idle = [open_compare(client, deps, cached) for _ in range(args.reps)]
            logs: list[dict[str, Any]] = [{} for _ in range(args.fits)]
            threads = []
            for i in range(args.fits):
                settings = ModelSettings(linkage=args.linkage, seed=100 + i)  # type: ignore[arg-type]
                data = with_settings(new_state(services), settings).to_json()
                thread = threading.Thread(
                    target=open_compare, args=(Client(url, app), deps, data, logs[i])
                )
                thread.start()
                threads.append(thread)
            time.sleep(3.0)  # the comparisons are asked for and running
            loaded = [open_compare(client, deps, cached) for _ in range(args.reps)]
            for thread in threads:
                thread.join()
        finally:
            server.terminate()
            server.wait(60)
    return idle, loaded, logs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fits", type=int, default=8)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--source", type=Path, default=ROOT)
    parser.add_argument("--scenario", choices=("model", "compare"), default="model")
    parser.add_argument("--customers", type=int, default=10_000, help="compare: table size")
    parser.add_argument("--linkage", default="complete", help="compare: the dear sessions'")
    args = parser.parse_args(argv)
    if args.scenario == "compare":
        idle, loaded, logs = compare_scenario(args)
        what = f"Compare ({args.linkage}) opened"
        return report(idle, loaded, logs, args, what=what, request="cached Compare page")
    with tempfile.TemporaryDirectory(prefix="fair-cpu-") as folder:
        cache = Path(folder)
        server, url, key = start_server(cache, source=args.source)
        try:
            app = local_app(cache, key)
            services = get_services(app.server)
            cached = new_state(services).to_json()
            client = Client(url, app)
            for _ in range(6):  # fitted once, then cached in both workers' memory
                client.callback(RENDER, [cached])
            idle = [timed(client, cached) for _ in range(args.reps)]
            logs: list[dict[str, Any]] = [{} for _ in range(args.fits)]
            threads = []
            for i in range(args.fits):
                settings = ModelSettings(**DEAR, seed=100 + i)  # type: ignore[arg-type]
                data = with_settings(new_state(services), settings).to_json()
                thread = threading.Thread(target=dear_fit, args=(Client(url, app), data, logs[i]))
                thread.start()
                threads.append(thread)
            time.sleep(3.0)  # the fits are asked for and running
            loaded = [timed(client, cached) for _ in range(args.reps)]
            for thread in threads:
                thread.join()
        finally:
            server.terminate()
            server.wait(60)
    return report(idle, loaded, logs, args, what="GMM k=30 fits", request="cached Model page")


def report(
    idle: list[float],
    loaded: list[float],
    logs: list[dict[str, Any]],
    args: argparse.Namespace,
    *,
    what: str,
    request: str,
) -> int:
    """Print both medians, their ratio, where the dear work ran and the queue messages."""
    base, busy = statistics.median(idle), statistics.median(loaded)
    print(f"{request} request, {args.reps} times each (wall seconds):")
    print(f"  idle server                 median {base:.3f}  max {max(idle):.3f}")
    print(f"  {args.fits} {what} running  median {busy:.3f}  max {max(loaded):.3f}")
    print(
        f"  ratio loaded / idle: {busy / base:.1f}x (median), {max(loaded) / max(idle):.1f}x (max)"
    )
    seconds = [log.get("seconds", float("nan")) for log in logs]
    background = sum(bool(log.get("background")) for log in logs)
    print(
        f"expensive fits: {background} of {args.fits} in the background; each took "
        f"{min(seconds):.0f}-{max(seconds):.0f} s (median {statistics.median(seconds):.0f})"
    )
    shown = sorted({text for log in logs for text in log.get("queue", [])})
    print("queue messages shown:", *shown or ["(none)"], sep="\n  ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
