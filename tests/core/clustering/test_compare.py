"""compare: contingency, ARI / NMI, matching and cell members on hand-made segmentations."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from core.clustering.compare import compare, compare_frames, compare_segmentations
from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.fit import fit_segmentation
from core.errors import ConfigError, DataSufficiencyError, SchemaError
from tests.core.clustering.synth import blob_table

A_IDS = ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"]
A_LAB = [0, 0, 0, 1, 1, 2, 2, 2]
B_IDS = ["c9", "c7", "c6", "c5", "c4", "c3", "c2", "c1"]  # any order; c8 / c9 not shared
B_LAB = [2, 2, 2, 0, 0, 0, 1, 1]


def test_hand_made_example() -> None:
    result = compare(A_IDS, A_LAB, B_IDS, B_LAB)
    # Shared c1..c7: a = 0 0 0 1 1 2 2, b = 1 1 0 0 0 2 2.
    assert result.n_common == 7
    assert result.n_only_a == 1
    assert result.n_only_b == 1
    assert result.contingency.columns == ["segment_a", "b_0", "b_1", "b_2", "total"]
    assert result.contingency.rows() == [(0, 1, 2, 0, 3), (1, 2, 0, 0, 2), (2, 0, 0, 2, 2)]
    np.testing.assert_array_equal(result.counts, [[1, 2, 0], [2, 0, 0], [0, 0, 2]])
    # ARI by hand: sum C(nij,2) = 3; row and column sums 3, 2, 2 -> 5 each; C(7,2) = 21.
    expected = 5 * 5 / 21
    assert result.ari == pytest.approx((3 - expected) / (5 - expected))
    assert 0 < result.nmi < 1
    assert result.matching.rows() == [(0, 1, 2, 2 / 3), (1, 0, 2, 2 / 3), (2, 2, 2, 1.0)]
    assert result.matched() == {0: 1, 1: 0, 2: 2}
    assert result.cell_members(0, 0).tolist() == ["c3"]
    assert result.cell_members(0, 1).tolist() == ["c1", "c2"]
    assert result.cell_members(2, 0).tolist() == []
    with pytest.raises(ConfigError, match="no segment 7"):
        result.cell_members(7, 0)


def test_identical_up_to_renumbering() -> None:
    ids = [f"x{i}" for i in range(30)]
    a = np.repeat([0, 1, 2], 10)
    b = np.array([2, 0, 1])[a]
    result = compare(ids, a, ids[::-1], b[::-1])
    assert result.ari == pytest.approx(1.0)
    assert result.nmi == pytest.approx(1.0)
    assert result.matched() == {0: 2, 1: 0, 2: 1}
    assert result.matching.get_column("jaccard").to_list() == [1.0, 1.0, 1.0]


def test_different_k_leaves_segments_unmatched_and_noise_is_a_label() -> None:
    ids = ["a", "b", "c", "d", "e", "f"]
    result = compare(ids, [0, 0, 0, 1, 2, 2], ids, [0, 0, 0, 0, -1, -1])
    assert result.b_labels.tolist() == [-1, 0]
    assert result.contingency.columns == ["segment_a", "b_-1", "b_0", "total"]
    assert result.matching.height == 2
    assert result.matched() == {0: 0, 2: -1}


def test_hierarchical_vs_kmeans_on_blobs() -> None:
    table, _ = blob_table(800, centers=4, std=0.5, seed=7)
    cfg = PreprocessConfig(log=())
    km = fit_segmentation(table, cfg, ModelConfig(k=4))
    hc = fit_segmentation(table, cfg, ModelConfig(algorithm="hierarchical", k=4))
    result = compare_segmentations(hc, km)
    assert result.ari > 0.95
    assert result.n_common == 800
    # Canonical numbering (by monetary) makes equal partitions use the same numbers.
    assert result.matched() == {0: 0, 1: 1, 2: 2, 3: 3}
    frames = compare_frames(hc.labels_frame(), km.labels_frame())
    np.testing.assert_array_equal(frames.counts, result.counts)


def test_errors() -> None:
    with pytest.raises(ConfigError, match="3 customer ids but 2 labels"):
        compare(["a", "b", "c"], [0, 1], ["a"], [0])
    with pytest.raises(SchemaError, match="'a'"):
        compare(["a", "a"], [0, 1], ["a"], [0])
    with pytest.raises(DataSufficiencyError, match="no customer in common"):
        compare(["a"], [0], ["b"], [0])
    with pytest.raises(ConfigError, match="integers"):
        compare(["a"], [0.5], ["a"], [0])
    with pytest.raises(SchemaError, match="'segment'"):
        compare_frames(pl.DataFrame({"customer_id": ["a"]}), pl.DataFrame({"customer_id": ["a"]}))
