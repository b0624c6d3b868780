"""The app's shared cache folder holds data: every kind the pages cache reaches another worker
equal, and a planted entry is a logged miss (issue 12)."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
from polars.testing import assert_frame_equal

from core import cache as cache_module
from core.cache import DiskCache, make_key
from dashapp.pages.compare import view as cm
from dashapp.pages.explore import view as ev
from dashapp.pages.rfm import view as rv
from dashapp.services import AppServices
from dashapp.shared.loading import session_table
from dashapp.state import SessionState


def _other_worker(services: AppServices) -> DiskCache:
    """What another worker sharing the folder reads."""
    disk = services.cache.disk
    assert disk is not None
    return DiskCache(disk.directory)


def test_page_views_reach_another_worker(services: AppServices, state: SessionState) -> None:
    table = session_table(state, services)
    explore = ev.explore_data(table)
    rfm = rv.rfm_view(table.features, ruleset="rfm11", bins=5)
    tree = cm.tree_fit(table, cm.compare_settings(state), None)
    keys = [make_key("test view", name, table.key) for name in ("explore", "rfm", "tree")]
    for key, value in zip(keys, (explore, rfm, tree), strict=True):
        services.cache.put(key, value)
    other = _other_worker(services)
    explore_back, rfm_back, tree_back = (other.get(key) for key in keys)
    assert explore_back == explore  # the compared fields: counts, histograms, correlations
    for name in ("rf_grid", "monthly", "countries", "summary"):
        assert_frame_equal(getattr(explore_back, name), getattr(explore, name))
    assert rfm_back == rfm
    for name in ("segments", "grid", "ranges"):
        assert_frame_equal(getattr(rfm_back, name), getattr(rfm, name))
    assert isinstance(tree_back, cm.TreeFit)
    np.testing.assert_array_equal(tree_back.linkage, tree.linkage)
    np.testing.assert_array_equal(tree_back.monetary, tree.monetary)
    np.testing.assert_array_equal(tree_back.tree.labels(4), tree.tree.labels(4))
    assert other.discarded == 0


class _Planted:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (Path.touch, (self.marker,))


def test_a_planted_cache_entry_is_a_logged_miss(
    services: AppServices,
    state: SessionState,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Anyone who can write the shared folder could run code in the server with a pickle
    # behind a valid checksum. Now the entry is discarded and the table recomputed.
    table = session_table(state, services)
    marker = tmp_path / "ran"
    payload = pickle.dumps(_Planted(marker))
    path = _other_worker(services).path_for(table.key)
    digest = hashlib.sha256(payload).digest()
    path.write_bytes(cache_module._MAGIC + len(payload).to_bytes(8, "big") + digest + payload)
    services.tables.memory.put(table.key, None)  # the worker's memory no longer has it
    with caplog.at_level("WARNING", logger="core.cache"):
        again = session_table(state, services)
    assert not marker.exists()
    assert "treated as a miss" in caplog.text
    assert_frame_equal(again.features, table.features)
    assert isinstance(_other_worker(services).get(table.key), type(table))  # written back
