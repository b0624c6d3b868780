"""The jobs folder holds JSON only: a planted pickle is refused without running (issue 12, 8)."""

from __future__ import annotations

import os
from pathlib import Path

import diskcache
import plotly.graph_objects as go
from dash import html, no_update

from dashapp.background import job_manager


class _Planted:
    """Unpickling this creates ``path``: proof that code from the folder ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, ...]]:
        return (os.system, (f"touch {self.path}",))


def test_a_pickle_planted_in_the_jobs_folder_is_refused_without_running(tmp_path: Path) -> None:
    manager = job_manager(tmp_path)
    marker = tmp_path / "ran"
    folder = str(tmp_path / "jobs")
    with diskcache.Cache(folder) as planter:  # diskcache's default storage: pickles
        planter.set("result-of-a-job", _Planted(marker))
        planter.set("big-result", [_Planted(marker)] + ["x" * 100] * 1000)  # a file entry
        planter.set("some-text", "plain text written as text")
    assert manager.handle.get("result-of-a-job") is None
    assert manager.handle.get("big-result") is None
    assert manager.handle.get("some-text") is None
    assert not manager.result_ready("result-of-a-job")
    assert not marker.exists()


def test_job_results_go_through_the_folder_as_json(tmp_path: Path) -> None:
    manager = job_manager(tmp_path)
    figure = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
    result = [html.Div("Fitted", id="x"), figure, no_update, {"k": 4}, "state", 1.5, None]
    manager.handle.set("result", result)
    big = ["x" * 100] * 1000  # larger than diskcache keeps in its database: a file
    manager.handle.set("big", big)
    back = manager.handle.get("result")
    assert back[0] == {
        "props": {"children": "Fitted", "id": "x"},
        "type": "Div",
        "namespace": "dash_html_components",
    }
    assert back[1]["data"][0]["y"] == [1, 2]
    assert back[2] == {"_dash_no_update": "_dash_no_update"}
    assert back[3:] == [{"k": 4}, "state", 1.5, None]
    assert manager.handle.get("big") == big
    with open(next((tmp_path / "jobs").rglob("*.val")), "rb") as stored:
        assert stored.read(1) == b"["  # JSON on disk, not a pickle
