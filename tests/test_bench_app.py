"""bench/bench_app.py's replay: a replayed request counts only when it answers as it did in the
browser (a 204 where the browser got 200 did none of the timed work)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.bench_app import CALLBACK_PATH, Request, Wave, replay, tree_cpu_seconds


class _Answer(BaseHTTPRequestHandler):
    """Answers every POST with the status the server was given (``server.status``)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status = self.server.status  # type: ignore[attr-defined]
        self.send_response(status)
        body = b"" if status == 204 else b"{}"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return  # quiet


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    httpd.status = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def _base(httpd: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}"


def _wave(status: int | None) -> Wave:
    request = Request(
        url=f"http://browser{CALLBACK_PATH}",
        body='{"output": "x.children"}',
        outputs="x.children",
        browser_ms=1.0,
        status=status,
    )
    return Wave(label="one", requests=[request], browser_s=0.1)


def test_a_replay_answering_as_in_the_browser_is_timed(server: ThreadingHTTPServer) -> None:
    row = replay(_base(server), "same status", [_wave(200)], reps=3, warmup=0)
    assert row.n == 3
    server.status = 204  # type: ignore[attr-defined]
    assert replay(_base(server), "prevented in both", [_wave(204)], reps=2, warmup=0).n == 2


@pytest.mark.parametrize(
    ("captured", "answered"),
    [(200, 204), (None, 204), (200, 500), (204, 200), (500, 500)],
)
def test_a_replay_answering_otherwise_fails(
    server: ThreadingHTTPServer, captured: int | None, answered: int
) -> None:
    server.status = answered  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match=f"HTTP {answered}"):
        replay(_base(server), "changed status", [_wave(captured)], reps=2, warmup=0)


def test_tree_cpu_counts_a_process_and_its_children() -> None:
    # A child that spends 0.3 CPU-seconds, then waits: its time is in its own and its
    # parent's tree (the browser's renderers are children of chromedriver's Chromium).
    burn = (
        "import sys, time\n"
        "t = time.process_time()\n"
        "while time.process_time() - t < 0.3:\n"
        "    pass\n"
        "print(flush=True)\n"
        "sys.stdin.read()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", burn], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        child.stdout.readline()  # it has spent its CPU time
        own = tree_cpu_seconds(child.pid)
        assert own >= 0.3
        assert tree_cpu_seconds(os.getpid()) >= own
    finally:
        child.communicate(b"")
    assert tree_cpu_seconds(child.pid) == 0.0  # gone
