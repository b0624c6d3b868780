"""Fair use of the CPU by background fits (issue 12, finding 3): a bounded queue per process
that tells each waiting job how many fits are ahead of it, and one active fit per session."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashapp.background import (
    JOB_NICENESS,
    QUEUE_FULL,
    SESSION_BUSY,
    ThreadJobManager,
    job_manager,
)


def _announce(ahead: int, running: int) -> list[Any]:
    return [ahead, running]


class Jobs:
    """A job manager whose jobs wait on one event each (released by the test)."""

    def __init__(self, folder: Path, **options: Any) -> None:
        self.manager: ThreadJobManager = job_manager(
            folder, owner_of=lambda args: args[0], announce=_announce, **options
        )
        self.gates: dict[str, threading.Event] = {}
        self.started: list[str] = []

    def submit(self, name: str, session: str | None = None) -> str:
        gate = self.gates[name] = threading.Event()

        def work(_session: object) -> str:
            self.started.append(name)
            gate.wait(30)
            return name

        job_fn = self.manager.make_job_fn(work, False)
        return self.manager.call_job_fn(f"result-{name}", job_fn, [session], {})

    def wait_started(self, count: int) -> None:
        deadline = time.monotonic() + 30
        while len(self.started) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.started) >= count

    def result(self, name: str, job: str) -> Any:
        deadline = time.monotonic() + 30
        while not self.manager.result_ready(f"result-{name}") and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.manager.get_result(f"result-{name}", job)

    def place(self, name: str) -> Any:
        """What the page's next poll of this job shows as its progress."""
        return self.manager.get_progress(f"result-{name}")

    def release(self) -> None:
        for gate in self.gates.values():
            gate.set()


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[Jobs]:
    made = Jobs(tmp_path, max_jobs=1, max_waiting=3)
    yield made
    made.release()


def test_a_waiting_fit_is_told_how_many_fits_are_ahead_of_it(jobs: Jobs) -> None:
    first = jobs.submit("a", "s1")
    jobs.wait_started(1)
    jobs.submit("b", "s2")
    jobs.submit("c", "s3")
    # One running, "b" waits behind it, "c" behind both: [fits ahead, running].
    assert jobs.place("b") == [1, 1]
    assert jobs.place("c") == [2, 1]
    assert jobs.manager.queue() == (1, 2)
    jobs.gates["a"].set()
    assert jobs.result("a", first) == "a"
    jobs.wait_started(2)
    # The queue moved: "c" is told again, now next.
    assert jobs.place("c") == [1, 1]
    assert jobs.started == ["a", "b"]


def test_a_cancelled_waiting_fit_leaves_the_queue_at_once(jobs: Jobs) -> None:
    jobs.submit("a", "s1")
    jobs.wait_started(1)
    waiting = jobs.submit("b", "s2")
    jobs.submit("c", "s3")
    assert jobs.place("c") == [2, 1]
    jobs.manager.terminate_job(waiting)
    assert jobs.place("c") == [1, 1]
    jobs.gates["a"].set()
    jobs.gates["c"].set()
    jobs.wait_started(2)
    assert jobs.started == ["a", "c"]  # the cancelled one never ran


def test_a_second_fit_of_one_session_is_refused_while_the_first_is_active(jobs: Jobs) -> None:
    first = jobs.submit("a", "s1")
    jobs.wait_started(1)
    second = jobs.submit("b", "s1")
    assert jobs.result("b", second) == SESSION_BUSY  # answered at once, nothing ran
    assert "already queued or running" in SESSION_BUSY["error"]
    assert jobs.started == ["a"]
    # Another session is not affected; once the first fit ended, the session may fit again.
    other = jobs.submit("c", "s2")
    jobs.gates["a"].set()
    assert jobs.result("a", first) == "a"
    third = jobs.submit("d", "s1")
    jobs.gates["c"].set()
    jobs.gates["d"].set()
    assert jobs.result("c", other) == "c"
    assert jobs.result("d", third) == "d"


def test_cancelling_a_fit_frees_its_session(jobs: Jobs) -> None:
    """Changing a setting while a fit runs cancels it (Dash's oldJob) before the new one."""
    first = jobs.submit("a", "s1")
    jobs.wait_started(1)
    jobs.manager.terminate_job(first)
    second = jobs.submit("b", "s1")
    jobs.gates["a"].set()
    jobs.gates["b"].set()
    assert jobs.result("b", second) == "b"


def test_the_bound_per_session_holds_across_workers(tmp_path: Path) -> None:
    """Two worker processes of one deployment share the jobs folder: a session's fit on one
    refuses its second fit on the other."""
    one, two = Jobs(tmp_path, max_jobs=1), Jobs(tmp_path, max_jobs=1)
    try:
        one.submit("a", "s1")
        one.wait_started(1)
        refused = two.submit("b", "s1")
        assert two.result("b", refused) == SESSION_BUSY
    finally:
        one.release()
        two.release()


def test_a_full_queue_refuses_a_new_fit_with_a_message(jobs: Jobs) -> None:
    jobs.submit("a", "s1")
    jobs.wait_started(1)
    for name, session in (("b", "s2"), ("c", "s3"), ("d", "s4")):
        jobs.submit(name, session)
    refused = jobs.submit("e", "s5")
    assert jobs.result("e", refused) == QUEUE_FULL
    assert "busy" in QUEUE_FULL["error"]
    assert jobs.manager.queue() == (1, 3)


def test_fits_run_at_a_lower_cpu_priority_than_requests(tmp_path: Path) -> None:
    """Requests (this thread) keep their priority; the job's thread yields the CPU to them."""
    manager = job_manager(tmp_path)
    seen: list[int] = []

    def work() -> str:
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return "done"

    job = manager.call_job_fn("nice", manager.make_job_fn(work, False), [], {})
    deadline = time.monotonic() + 30
    while not manager.result_ready("nice") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert manager.get_result("nice", job) == "done"
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen[0] >= max(own, JOB_NICENESS)
