"""A real Spark standalone cluster on loopback for the tests: one master and two workers,
each its own JVM started with the launchers pyspark ships (``pyspark/bin/spark-class``),
so shuffles cross process boundaries as on a cluster. Stopped (each process group) at the
end, also when a test fails or the start times out, and killed by the kernel when the test
process itself dies (a run killed by a timeout left three JVMs running)."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

START_TIMEOUT_S = 120.0
WORKERS = 2
WORKER_MEMORY = "1536m"  # room for one executor of Spark's default 1g


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# A cluster of two one-core workers: Spark's default 200 shuffle partitions would be 200
# tasks per shuffle, nearly all scheduling (a real cluster sets its own figure the same way).
SPARK_DEFAULTS = "spark.sql.shuffle.partitions 4\n"


def spark_env(folder: Path) -> dict[str, str]:
    """The environment of the cluster's processes and of a driver talking to it (logs and a
    ``spark-defaults.conf`` in ``folder``)."""
    import pyspark

    conf = folder / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "spark-defaults.conf").write_text(SPARK_DEFAULTS)
    home = Path(pyspark.__file__).parent
    return {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_CONF_DIR": str(conf),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(folder),
        "SPARK_NO_DAEMONIZE": "1",
    }


# Loaded in the parent: the child between fork and exec only makes system calls.
_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _own_group_dying_with(parent: int) -> None:
    """In the child before exec: its own session (process group, stopped as one by
    :func:`_stop`), and SIGKILL from the kernel when ``parent`` dies, even by SIGKILL, when
    no ``finally`` runs. spark-class ends by exec'ing the JVM, which keeps the setting."""
    os.setsid()
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``command`` in its own process group, killed when this process dies."""
    parent = os.getpid()
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=lambda: _own_group_dying_with(parent),  # noqa: PLW1509  (system calls only)
        )


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    spark_class = Path(env["SPARK_HOME"]) / "bin" / "spark-class"
    return spawn([str(spark_class), *args], env, log)


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as reply:
            return int(json.load(reply).get("aliveworkers", 0))
    except OSError:
        return 0


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@contextmanager
def standalone_cluster(folder: Path) -> Iterator[str]:
    """Yield ``spark://127.0.0.1:PORT`` once both workers have registered with the master."""
    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = spark_env(logs)
    port, ui_port = free_port(), free_port()
    url = f"spark://127.0.0.1:{port}"
    processes = []
    try:
        master = ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1"]
        master += ["--port", str(port), "--webui-port", str(ui_port)]
        processes.append(_start(master, env, logs / "master.log"))
        for n in range(WORKERS):
            work = folder / f"worker-{n}"
            work.mkdir(exist_ok=True)
            worker = ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1"]
            worker += ["--cores", "1", "--memory", WORKER_MEMORY, "--work-dir", str(work)]
            worker += ["--webui-port", str(free_port()), url]
            processes.append(_start(worker, env, logs / f"worker-{n}.log"))
        deadline = time.monotonic() + START_TIMEOUT_S
        while _alive_workers(ui_port) < WORKERS:
            dead = [p.args for p in processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the Spark standalone cluster did not come up ({'exited: ' if dead else ''}"
                    f"{dead or 'timed out'}); logs in {logs}"
                )
            time.sleep(0.5)
        yield url
    finally:
        for process in reversed(processes):
            _stop(process)
