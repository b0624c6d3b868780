"""``custseg serve`` writes a plain log to a file: the address once, no ANSI colour codes, with
and without ``--debug`` (which crashed: Dash's runner enabled the dev tools again after the
warm-up request)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READY = "custseg is ready"
STARTUP_LIMIT = 240  # seconds to wait for the server (not a timing assertion)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, deadline: float) -> int:
    """The HTTP status of ``url`` (the socket opens just after the ready line: retried)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except urllib.error.URLError:
            assert time.monotonic() < deadline, f"no answer from {url}"
            time.sleep(0.5)


def _serve_log(tmp_path: Path, options: list[str]) -> tuple[str, int]:
    """Start ``custseg serve`` with its output to a file, make a few requests, stop it."""
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "CUSTSEG_CACHE_DIR": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "core.cli", "serve", "--port", str(port), *options]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        try:
            deadline = time.monotonic() + STARTUP_LIMIT
            while READY not in log.read_text() and proc.poll() is None:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
            if proc.poll() is None:
                base = f"http://127.0.0.1:{port}"
                codes = [_get(base + p, deadline) for p in ("/", "/export", "/no-such-page")]
                assert codes[:2] == [200, 200], codes
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return log.read_text(), port


@pytest.mark.slow
@pytest.mark.parametrize("options", [[], ["--debug"]], ids=["plain", "debug"])
def test_serve_log_names_the_address_once_without_colour_codes(
    tmp_path: Path, options: list[str]
) -> None:
    text, port = _serve_log(tmp_path, options)
    assert READY in text, text
    assert "Traceback" not in text, text
    assert "internal error" not in text, text
    assert text.count(f"127.0.0.1:{port}") == 1, text
    assert "\x1b[" not in text, repr(text)
