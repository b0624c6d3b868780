"""``custseg serve --workers N``: the production server (gunicorn + waitress).

* 40 clients holding half-sent requests do not stop it answering (gunicorn's threaded worker,
  the deployment documented before, gave each of them a thread and stopped answering);
* it refuses to start without ``CUSTSEG_SECRET_KEY`` (every worker had its own random key);
* a kept-alive connection still answers after a pause (gunicorn closed it after 2 s, and a
  request a client sent meanwhile was lost: the "keep-alive resets" of the load test);
* its answers carry no server name or version, a killed worker is replaced, and a stopping
  worker answers the requests it already received.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashapp.sessions import SECRET_ENV

ROOT = Path(__file__).resolve().parents[2]
READY = "custseg is ready"
STARTUP_LIMIT = 240  # seconds to wait for the server (not a timing assertion)
SLOW_CLIENTS = 40
# Ordinary requests made meanwhile: each may land on either worker.
ORDINARY = ("/", "/_dash-layout", "/_dash-dependencies", "/export") * 3
CLIENT_TIMEOUT = 10  # generous: an answering server replies in well under a second


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
    return {**env, "CUSTSEG_CACHE_DIR": str(tmp_path / "cache"), **extra}


@contextlib.contextmanager
def _server(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` until its log says it is ready; stop it (and its workers) afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True
        )
        try:
            deadline = time.monotonic() + STARTUP_LIMIT
            while READY not in log.read_text() and proc.poll() is None:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
            assert proc.poll() is None, log.read_text()
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _get(url: str) -> tuple[int, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=CLIENT_TIMEOUT) as response:
        response.read()
        return int(response.status), dict(response.headers)


def _get_when_up(url: str) -> tuple[int, dict[str, str]]:
    """The first answer (workers may still be loading the app when the first one says ready)."""
    deadline = time.monotonic() + STARTUP_LIMIT
    while True:
        try:
            return _get(url)
        except (urllib.error.URLError, TimeoutError):
            assert time.monotonic() < deadline, f"no answer from {url}"
            time.sleep(0.5)


def _half_sent_posts(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that sent a callback request's headers and half its body."""
    body = b'{"output": "x.children", "inputs": [' + b"0," * 500
    head = (
        "POST /_dash-update-component HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {2 * len(body)}\r\n\r\n"
    ).encode()
    held = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT)
        sock.sendall(head + body)
        held.append(sock)
    return held


def serve_argv(port: int, *options: str) -> list[str]:
    return [sys.executable, "-m", "core.cli", "serve", "--port", str(port), *options]


@pytest.mark.slow
def test_workers_keep_answering_while_40_clients_hold_half_sent_requests(tmp_path: Path) -> None:
    port = _free_port()
    argv = serve_argv(port, "--workers", "2", "--no-sign-in")
    with _server(argv, _env(tmp_path, **{SECRET_ENV: "k" * 64}), tmp_path / "serve.log"):
        base = f"http://127.0.0.1:{port}"
        status, headers = _get_when_up(base + "/")
        assert status == 200
        assert "Server" not in headers  # neither gunicorn's nor waitress's name and version
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        held = _half_sent_posts(port, SLOW_CLIENTS)
        try:
            time.sleep(1)  # let every worker take its share of the slow connections
            for path in ORDINARY:
                assert _get(base + path)[0] == 200, path
        finally:
            for sock in held:
                sock.close()


def _kept_alive_after_a_pause(port: int, pause: float) -> list[int]:
    """Two requests on one connection, ``pause`` seconds apart (a user reading the page)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
    try:
        statuses = []
        for _ in range(2):
            conn.request("GET", "/_dash-dependencies")
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            time.sleep(pause)
        return statuses
    finally:
        conn.close()


@pytest.mark.slow
def test_a_kept_alive_connection_survives_a_pause_and_a_killed_worker_is_replaced(
    tmp_path: Path,
) -> None:
    port = _free_port()
    argv = serve_argv(port, "--workers", "2", "--no-sign-in")
    log = tmp_path / "serve.log"
    with _server(argv, _env(tmp_path, **{SECRET_ENV: "k" * 64}), log) as proc:
        base = f"http://127.0.0.1:{port}"
        assert _get_when_up(base + "/")[0] == 200
        assert _kept_alive_after_a_pause(port, pause=5) == [200, 200]
        workers = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(workers) == 2, workers
        os.kill(int(workers[0]), signal.SIGKILL)
        for _ in range(10):
            assert _get_when_up(base + "/")[0] == 200
        assert log.read_text().count(READY) == 1


# A production server around a WSGI app that takes 3 s to answer 40 MB (an export, say: more
# than the socket takes at once, so the worker's I/O loop must keep sending). No Dash: fast.
SLOW_APP = """
import sys, time
from dashapp.production import ProductionServer

def app(environ, start_response):
    time.sleep(3)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"x" * 40 * 1024**2]

ready = lambda: print("custseg is ready", flush=True)
ProductionServer(lambda: app, bind=sys.argv[1], workers=1, threads=2, on_ready=ready).run()
"""


@pytest.mark.slow
def test_a_stopping_server_answers_the_requests_it_received(tmp_path: Path) -> None:
    port = _free_port()
    argv = [sys.executable, "-c", SLOW_APP, f"127.0.0.1:{port}"]
    with _server(argv, _env(tmp_path), tmp_path / "serve.log") as proc:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
        try:
            conn.request("GET", "/")
            time.sleep(1)  # the request is being served ...
            proc.send_signal(signal.SIGTERM)  # ... when the server is told to stop
            response = conn.getresponse()
            assert response.status == 200
            assert len(response.read()) == 40 * 1024**2
        finally:
            conn.close()
        assert proc.wait(timeout=60) == 0


@pytest.mark.parametrize(
    "options",
    [["--workers", "2"], ["--host", "0.0.0.0"], ["--workers", "1", "--host", "10.1.2.3"]],
)
def test_serve_refuses_to_start_without_a_secret_key(tmp_path: Path, options: list[str]) -> None:
    done = subprocess.run(
        serve_argv(_free_port(), *options),
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{SECRET_ENV} is not set" in done.stderr
    assert "token_hex" in done.stderr  # how to make one
    assert "Traceback" not in done.stderr
    assert READY not in done.stdout
