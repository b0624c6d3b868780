"""``custseg serve`` sets Polars' allocator options for the server before Polars loads (they are
read once, when it loads), and leaves an operator's own setting alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashapp.cli import ALLOCATOR_ENV, SERVER_ALLOCATOR, server_allocator

ROOT = Path(__file__).resolve().parents[2]

# Runs `custseg serve ARGS` in a fresh interpreter and prints what the allocator variable held
# when Polars was first imported. The app factory and the server are replaced by a bare import
# of Polars: the order of the command's steps is what is checked, not the app.
PROBE = """
import importlib.abc, json, os, sys
seen = []

class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "polars" and not seen:
            seen.append(os.environ.get(%(env)r))
        return None

sys.meta_path.insert(0, Watch())
import dashapp.cli
from core.cli import main

dashapp.cli._app_factory = lambda **kw: (lambda: __import__("polars"))
dashapp.cli._serve_development = lambda build, host, port: build()
status = main(json.loads(sys.argv[1]))
print(json.dumps({"status": status, "at_polars_import": seen}))
"""


def _probe(args: list[str], env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE % {"env": ALLOCATOR_ENV}, json.dumps(args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _env_without_setting(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != ALLOCATOR_ENV}
    return {**env, "CUSTSEG_CACHE_DIR": str(tmp_path / "cache")}


def test_serve_sets_the_allocator_before_polars_loads(tmp_path: Path) -> None:
    result = _probe(["serve", "--port", "8061"], _env_without_setting(tmp_path))
    assert result == {"status": 0, "at_polars_import": [SERVER_ALLOCATOR]}


def test_a_data_folder_checked_first_still_gets_the_setting(tmp_path: Path) -> None:
    # Checking a --data folder for Parquet parts loads Polars before the server is built.
    folder = tmp_path / "parts"
    folder.mkdir()
    result = _probe(["serve", "--data", str(folder)], _env_without_setting(tmp_path))
    assert result == {"status": 2, "at_polars_import": [SERVER_ALLOCATOR]}


def test_an_operators_setting_is_left_alone(tmp_path: Path) -> None:
    env = {**_env_without_setting(tmp_path), ALLOCATOR_ENV: "narenas:2"}
    result = _probe(["serve", "--port", "8061"], env)
    assert result == {"status": 0, "at_polars_import": ["narenas:2"]}


def test_too_late_once_polars_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import polars  # noqa: F401  (loaded in this process: the options were read)

    monkeypatch.delenv(ALLOCATOR_ENV, raising=False)
    assert server_allocator() is False
    assert ALLOCATOR_ENV not in os.environ
