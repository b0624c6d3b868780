"""The session's segmentation layer: a table's lines are encoded for the top products once per
process, whatever the number of fits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.cache import MemoryCache
from core.clustering import products
from dashapp.services import AppCache, AppServices
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import ModelSettings, fit, product_lines
from dashapp.state import SessionState


def test_the_lines_are_encoded_once_for_every_fit_of_a_table(
    state: SessionState, services: AppServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = products.encode

    def counted(lines: object) -> products.LineCodes:
        calls.append(1)
        return original(lines)  # type: ignore[arg-type]

    monkeypatch.setattr(products, "encode", counted)
    # Tables, results and encoded lines kept by earlier tests of this session's app do not
    # count: fresh in-memory tiers. (The table holds its product lines' codes, so a table an
    # earlier test loaded and fitted has them encoded already.)
    fresh = replace(
        services,
        cache=AppCache(MemoryCache(max_items=16), None),
        tables=AppCache(MemoryCache(max_items=2), None),
        product_lines=MemoryCache(max_items=2),
    )
    table = session_table(state, fresh)
    results = [fit(table, ModelSettings(k=k, seed=31), fresh, state) for k in (2, 3, 5)]
    assert [r.k for r in results] == [2, 3, 5]
    assert all(p.top_products for r in results for p in r.profiles)
    assert calls == [1]
    assert product_lines(table, fresh) is product_lines(table, fresh)
