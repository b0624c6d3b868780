"""A background fit whose process dies (the OOM killer, a restart) becomes an error with a
Retry button at the next poll, instead of "Fitting..." forever (issue 12, finding 5)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from dashapp.background import LOST_JOB, job_manager
from dashapp.pages.model import callbacks as page
from dashapp.pages.model import ids
from dashapp.services import AppServices
from dashapp.shared.modeling import BACKGROUND_CONFIG_KEY, ModelSettings, with_settings
from dashapp.state import new_state
from tests.dashapp.helpers import as_json, texts

pytestmark = pytest.mark.usefixtures("app_ctx")

# A server process: starts a job that runs until killed, prints its id once it reports progress.
_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dashapp.background import job_manager, with_checkpoints

    def forever(set_progress):
        report = with_checkpoints(set_progress)
        while True:
            report(1)
            time.sleep(0.05)

    manager = job_manager(Path(sys.argv[1]))
    job = manager.call_job_fn("fit-result", manager.make_job_fn(forever, True), [], {})
    while manager.get_progress("fit-result") is None:
        time.sleep(0.01)
    print(job, flush=True)
    time.sleep(600)
    """
)


def test_a_job_whose_process_was_killed_answers_an_error_at_the_next_poll(
    tmp_path: Path,
) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        job = worker.stdout.readline().strip()  # type: ignore[union-attr]
        assert job.startswith(f"{worker.pid}-")
        manager = job_manager(tmp_path)  # another worker of the same deployment polls
        assert manager.job_running(job)
        assert manager.get_result("fit-result", job) is manager.UNDEFINED  # still fitting
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
        worker.stdout.close()  # type: ignore[union-attr]
    assert not manager.job_running(job)
    assert manager.get_result("fit-result", job) == LOST_JOB
    # Answered once: the job is forgotten, a later poll finds nothing.
    assert manager.get_result("fit-result", job) is manager.UNDEFINED


def test_a_running_or_finished_job_is_not_lost(tmp_path: Path) -> None:
    manager = job_manager(tmp_path)
    job = manager.call_job_fn("quick", manager.make_job_fn(lambda: "done", False), [], {})
    deadline = time.monotonic() + 30
    while not manager.result_ready("quick") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not manager.lost(job)
    assert manager.get_result("quick", job) == "done"


def test_the_page_shows_the_lost_fit_with_a_retry_that_asks_again(
    app: Any, services: AppServices
) -> None:
    state = with_settings(new_state(services), ModelSettings(k=6, seed=29))
    after = page.render_after_job(dict(LOST_JOB), state.to_json())
    shown = texts(as_json(after["summary"]))
    assert "stopped before it finished" in shown
    assert "Retry" in shown
    assert after["status"] == ""
    assert page.show_retry(dict(LOST_JOB), None, trigger=ids.MODEL_JOB_DONE) is False
    assert page.show_retry({"key": "abc"}, None, trigger=ids.MODEL_JOB_DONE) is True
    assert page.show_retry(dict(LOST_JOB), {"settings": {}}, trigger=ids.MODEL_JOB) is True

    app.server.config[BACKGROUND_CONFIG_KEY] = 0  # every fit in the background
    try:
        first = page.retry_fit(1, state.to_json())
        second = page.retry_fit(2, state.to_json())
    finally:
        del app.server.config[BACKGROUND_CONFIG_KEY]
    assert first["job"]["settings"] == ModelSettings(k=6, seed=29).to_json()
    assert "in the background" in first["status"]
    assert first["job"] != second["job"]  # the store changes, so the job starts again
