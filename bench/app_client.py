"""A scripted browser for the benchmarks: starts ``custseg serve`` and posts the callback requests
the Dash renderer would post (no Chromium), so many simulated users fit on a small machine.

* :func:`start_server` runs ``custseg serve`` in a child process on a free port, with its own
  cache folder and secret key (the deployment's settings), and waits until it answers.
* :class:`Client` is one browser tab: its own HTTP connection pool and session state, the page's
  signed ``endId`` (background callbacks need it), and :meth:`Client.callback` /
  :meth:`Client.background` for the app's callbacks by function name. The request bodies are
  built from the callback map of an app made in this process (same code, same ids).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from dash import Dash

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    cache: Path,
    *,
    workers: int = 2,
    source: Path = ROOT,
    extra_env: Mapping[str, str] | None = None,
    log: Path | None = None,
    data: Path | None = None,
) -> tuple[subprocess.Popen[bytes], str, str]:
    """``custseg serve --workers N --no-sign-in [--data FILE]`` from ``source``; (process,
    base URL, key)."""
    port = free_port()
    key = secrets.token_hex(32)
    env = {
        **os.environ,
        "CUSTSEG_SECRET_KEY": key,
        "CUSTSEG_CACHE_DIR": str(cache),
        "PYTHONPATH": str(source),
        **(extra_env or {}),
    }
    out = open(log or cache / "server.log", "wb")  # noqa: SIM115  (the server's whole life)
    command = [sys.executable, "-m", "core.cli", "serve", "--port", str(port), "--no-sign-in"]
    if workers > 1:
        command += ["--workers", str(workers)]
    if data is not None:
        command += ["--data", str(data)]
    server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cache)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/_dash-layout", timeout=5).status_code == 200:
                return server, url, key
        except requests.RequestException:
            pass
        if server.poll() is not None:
            raise RuntimeError(f"the server exited ({server.returncode}); see {out.name}")
        time.sleep(0.5)
    server.kill()
    raise RuntimeError("the server did not answer within 180 s")


def local_app(cache: Path, key: str, data: Path | None = None) -> Dash:
    """An app over the server's cache folder, key and data: it builds request bodies and
    signs session states the server accepts (no request reaches it)."""
    os.environ["CUSTSEG_SECRET_KEY"] = key
    from dashapp.app import create_app  # imported once the key is set

    return create_app(cache_dir=cache, data_path=data)


def _spec(app: Dash, function_name: str) -> tuple[str, list[Any], list[Any]]:
    """The callback of ``"module:name"`` (the function's module and name), or of
    ``"module:name@output"`` when one function serves several pages (the background job of
    :func:`dashapp.shared.jobs.register_job`): the one whose outputs name ``output``."""
    spec, _, output = function_name.partition("@")
    module, _, name = spec.rpartition(":")
    found = []
    for key, entry in app.callback_map.items():
        func = entry.get("callback")
        func = getattr(func, "__wrapped__", func)
        if getattr(func, "__name__", None) != name or getattr(func, "__module__", "") != module:
            continue
        if output and output not in {o["id"] for o in _outputs(key)}:
            continue
        found.append((key, entry["inputs"], entry["state"]))
    if len(found) != 1:
        raise KeyError(f"{function_name}: {len(found)} callbacks match (want one)")
    return found[0]


def _outputs(output: str) -> list[dict[str, Any]]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    found = []
    for part in parts:
        component, _, prop = part.rpartition(".")
        try:
            component_id: Any = json.loads(component)
        except json.JSONDecodeError:
            component_id = component
        found.append({"id": component_id, "property": prop})
    return found


def body(app: Dash, function_name: str, inputs: list[Any], state: list[Any] = ()) -> dict:  # type: ignore[assignment]
    """The JSON the browser posts for one callback."""
    output, input_deps, state_deps = _spec(app, function_name)
    outputs = _outputs(output)
    return {
        "output": output,
        "outputs": outputs if output.startswith("..") else outputs[0],
        "inputs": [{**d, "value": v} for d, v in zip(input_deps, inputs, strict=True)],
        "state": [{**d, "value": v} for d, v in zip(state_deps, state, strict=True)],
        "changedPropIds": [f"{input_deps[0]['id']}.{input_deps[0]['property']}"],
    }


class Client:
    """One browser tab against ``url``."""

    def __init__(self, url: str, app: Dash, *, timeout: float = 600.0) -> None:
        self.url, self.app, self.timeout = url, app, timeout
        self.http = requests.Session()
        page = self.http.get(url + "/", timeout=timeout).text
        config = re.search(
            r'<script id="_dash-config" type="application/json">(.*?)</script>', page
        )
        self.end_id = json.loads(config.group(1))["end_id"] if config else ""

    def post(self, payload: dict, **params: str) -> requests.Response:
        response = self.http.post(
            self.url + "/_dash-update-component",
            json=payload,
            params={"endId": self.end_id, **params},
            timeout=self.timeout,
        )
        return response

    def callback(self, function_name: str, inputs: list[Any], state: list[Any] = ()) -> Any:  # type: ignore[assignment]
        """The callback's outputs (the response's ``response``), or None for no update."""
        response = self.post(body(self.app, function_name, inputs, state))
        if response.status_code == 204:
            return None
        response.raise_for_status()
        return response.json().get("response")

    def start_background(
        self, function_name: str, inputs: list[Any], state: list[Any] = ()
    ) -> dict:  # type: ignore[assignment]
        """Start a background callback; the handles to poll it with."""
        payload = body(self.app, function_name, inputs, state)
        response = self.post(payload)
        response.raise_for_status()
        handles = response.json()
        return {"payload": payload, "cacheKey": handles["cacheKey"], "job": handles["job"]}

    def poll(self, started: dict, *, interval: float = 0.25) -> tuple[Any, list[Any]]:
        """Poll a background callback until it answers; (outputs, progress values seen)."""
        seen: list[Any] = []
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            response = self.post(
                started["payload"], cacheKey=started["cacheKey"], job=started["job"]
            )
            if response.status_code == 204:
                return None, seen
            response.raise_for_status()
            answer = response.json()
            if "progress" in answer:
                seen.append(answer["progress"])
            if "response" in answer:
                return answer["response"], seen
            time.sleep(interval)
        raise TimeoutError("the background callback did not answer in time")
