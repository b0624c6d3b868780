"""The WSGI entry points refuse to build an app without ``CUSTSEG_SECRET_KEY``: every worker
process would sign sessions with its own random key and refuse the others' (finding 9)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashapp.sessions import SECRET_ENV

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("code", ["import dashapp.wsgi", "import dashapp; dashapp.server"])
def test_wsgi_entry_refuses_to_start_without_a_secret_key(tmp_path: Path, code: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
    env["CUSTSEG_CACHE_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert f"{SECRET_ENV} is not set" in done.stderr
    assert "token_hex" in done.stderr
    assert not (tmp_path / "sessions").exists()  # refused before building anything
