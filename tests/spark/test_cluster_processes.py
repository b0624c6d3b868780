"""The standalone cluster's processes die with the test process that started them, even when
it is killed (no ``finally`` runs): a test run stopped by a timeout left three JVMs running,
taking memory from every later run on the machine. No JVM here: ``sleep`` stands in for one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_killed_test_process_takes_the_cluster_processes_with_it(tmp_path: Path) -> None:
    # A stand-in for pytest: starts a process as the cluster starts each JVM, then waits.
    code = textwrap.dedent(
        f"""
        import os, sys, time
        from pathlib import Path
        sys.path.insert(0, {str(ROOT)!r})
        from tests.spark.cluster import spawn
        child = spawn(["sleep", "300"], dict(os.environ), Path({str(tmp_path / "child.log")!r}))
        print(child.pid, flush=True)
        time.sleep(300)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    try:
        assert _running(pid)
        assert os.getpgid(pid) == pid  # its own process group, stopped as one
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(pid), "the cluster process outlived the killed test process"
    finally:
        parent.kill()
        parent.wait(10)
        parent.stdout.close()
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
