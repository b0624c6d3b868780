"""fit_segmentation: recovery of known blobs, determinism, canonical labels, errors, predict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from core.clustering.config import K_MAX, ModelConfig, PreprocessConfig
from core.clustering.fit import (
    Segmentation,
    canonical_order,
    dendrogram_for,
    fit_segmentation,
    match_labels,
    predict,
)
from core.clustering.hierarchical import k_for_height
from core.clustering.preprocess import ConstantFeatureWarning
from core.errors import ConfigError, DataSufficiencyError
from tests.core.clustering.synth import blob_table, feature_table

ROOT = Path(__file__).resolve().parents[3]
NO_LOG = PreprocessConfig(log=())

MODELS = [
    ModelConfig(algorithm="kmeans", k=4),
    ModelConfig(algorithm="minibatch", k=4),
    ModelConfig(algorithm="gmm", k=4),
    ModelConfig(algorithm="hierarchical", k=4, linkage="ward"),
    ModelConfig(algorithm="hierarchical", k=4, linkage="complete"),
    ModelConfig(algorithm="hierarchical", k=4, linkage="average"),
    ModelConfig(algorithm="hdbscan", k=None),
]
IDS = ["kmeans", "minibatch", "gmm", "ward", "complete", "average", "hdbscan"]


def _truth(seg: Segmentation, table: pl.DataFrame, y: np.ndarray) -> np.ndarray:
    """True blob of each customer of ``seg`` (segmentation rows are sorted by id)."""
    by_id = dict(zip(table.get_column("customer_id").to_list(), y.tolist(), strict=True))
    return np.array([by_id[c] for c in seg.customer_ids])


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_each_algorithm_recovers_blobs(model: ModelConfig) -> None:
    table, y = blob_table(1200, centers=4, std=0.5, seed=7)
    seg = fit_segmentation(table, NO_LOG, model)
    assert seg.k == 4
    assert adjusted_rand_score(_truth(seg, table, y), seg.labels) > 0.95
    assert seg.sizes.sum() + seg.n_noise == 1200
    assert seg.centers_scaled.shape == (4, 3)
    assert seg.projection.shape == (1200, 2)
    assert seg.X.shape == (1200, 3)
    assert np.all(seg.customer_ids[:-1] < seg.customer_ids[1:])


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_same_labels_whatever_the_row_order(model: ModelConfig) -> None:
    table, _ = blob_table(900, centers=4, std=1.2, seed=11)  # overlapping: order could matter
    a = fit_segmentation(table, PreprocessConfig(log=()), model)
    shuffled = table.sample(fraction=1.0, shuffle=True, seed=5)
    assert shuffled.get_column("customer_id").to_list() != table.get_column("customer_id").to_list()
    b = fit_segmentation(shuffled, PreprocessConfig(log=()), model)
    np.testing.assert_array_equal(a.customer_ids, b.customer_ids)
    np.testing.assert_array_equal(a.labels, b.labels)


_SUBPROCESS = """
import json, sys
sys.path.insert(0, {root!r})
from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.fit import fit_segmentation
from tests.core.clustering.synth import blob_table
table, _ = blob_table(900, centers=4, std=1.2, seed=11)
out = {{}}
for algo in ("kmeans", "gmm", "hierarchical", "minibatch"):
    seg = fit_segmentation(table, PreprocessConfig(log=()), ModelConfig(algorithm=algo, k=4))
    out[algo] = seg.labels.tolist()
print(json.dumps(out))
"""


def test_same_labels_in_another_process() -> None:
    code = _SUBPROCESS.format(root=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    other = json.loads(done.stdout)
    table, _ = blob_table(900, centers=4, std=1.2, seed=11)
    for algo, labels in other.items():
        seg = fit_segmentation(table, PreprocessConfig(log=()), ModelConfig(algorithm=algo, k=4))
        assert seg.labels.tolist() == labels, algo


def test_canonical_order_by_monetary_then_size() -> None:
    labels = np.array([0, 0, 1, 1, 1, 2, 3, 3, -1])
    monetary = np.array([10.0, 20.0, 50.0, 50.0, np.nan, 5.0, 15.0, 15.0, 999.0])
    perm = canonical_order(labels, monetary)
    # means: 0 -> 15, 1 -> 50, 2 -> 5, 3 -> 15 (tie with 0, same size 2, 0 comes first).
    assert perm.tolist() == [1, 0, 3, 2]
    # Without monetary: by size (1 has 3), then first occurrence.
    assert canonical_order(labels, None).tolist() == [1, 0, 3, 2]
    # Empty model components (a Gaussian mixture may leave some) are numbered last.
    perm = canonical_order(np.array([0, 0, 2, 2]), np.array([1.0, 1.0, 9.0, 9.0]), n_labels=4)
    assert perm.tolist() == [1, 2, 0, 3]


def test_segments_numbered_by_mean_monetary_descending() -> None:
    table, _ = blob_table(800, centers=5, std=0.4, seed=2)
    seg = fit_segmentation(table, NO_LOG, ModelConfig(k=5))
    monetary = table.sort("customer_id").get_column("monetary").to_numpy()
    means = [monetary[seg.labels == s].mean() for s in range(seg.k)]
    assert means == sorted(means, reverse=True)
    mon_col = seg.preprocessor.features_in_.index("monetary")
    np.testing.assert_allclose(seg.centers_raw[:, mon_col], means)


def test_excluded_customers_never_reach_the_model() -> None:
    table, _ = blob_table(400, centers=3, std=0.4, seed=1)
    excluded = np.zeros(400, dtype=bool)
    excluded[::10] = True
    # Absurd values on excluded rows would wreck scaling if they leaked through.
    table = table.with_columns(
        excluded=pl.Series(excluded),
        monetary=pl.when(pl.Series(excluded)).then(1e12).otherwise(pl.col("monetary")),
    )
    seg = fit_segmentation(table, NO_LOG, ModelConfig(k=3))
    assert seg.n == 360
    assert seg.n_excluded == 40
    dropped = set(table.filter(pl.col("excluded")).get_column("customer_id").to_list())
    assert dropped.isdisjoint(seg.customer_ids.tolist())
    assert seg.X.max() < 10


def test_labels_frame() -> None:
    table, _ = blob_table(100, centers=2, std=0.3, seed=0)
    seg = fit_segmentation(table, NO_LOG, ModelConfig(k=2))
    frame = seg.labels_frame()
    assert frame.columns == ["customer_id", "segment"]
    assert frame.get_column("segment").to_list() == seg.labels.tolist()


def test_hdbscan_reports_noise() -> None:
    table, _ = blob_table(600, centers=3, std=0.3, seed=4)
    rng = np.random.default_rng(0)
    noise = feature_table(
        {
            "recency_days": rng.integers(-20_000, 20_000, 30),
            "frequency": rng.integers(-20_000, 20_000, 30),
            "monetary": rng.uniform(-20, 20, 30),
        },
        ids=[f"N{i:03d}" for i in range(30)],
    )
    seg = fit_segmentation(
        pl.concat([table, noise]), NO_LOG, ModelConfig(algorithm="hdbscan", k=None)
    )
    assert seg.k == 3
    assert seg.n_noise > 0
    assert seg.n_noise == int((seg.labels == -1).sum())
    assert set(np.unique(seg.labels)) == {-1, 0, 1, 2}
    assert any("noise" in w and f"{seg.n_noise}" in w for w in seg.warnings)
    assert seg.sizes.sum() + seg.n_noise == 630


def test_two_stage_hierarchical_reported_as_such() -> None:
    table, y = blob_table(3000, centers=4, std=0.5, seed=3)
    seg = fit_segmentation(
        table,
        NO_LOG,
        ModelConfig(algorithm="hierarchical", k=4, hierarchical_method="two_stage", n_micro=200),
    )
    assert seg.method == "hierarchical-ward-two-stage"
    assert "micro-clusters" in seg.description
    assert seg.linkage is not None
    assert seg.linkage.shape == (199, 4)
    assert seg.model.leaf_sizes.sum() == 3000
    assert adjusted_rand_score(_truth(seg, table, y), seg.labels) > 0.95
    exact = fit_segmentation(table, NO_LOG, ModelConfig(algorithm="hierarchical", k=4))
    assert exact.method == "hierarchical-ward-exact"
    assert exact.linkage is not None
    assert exact.linkage.shape == (2999, 4)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_predict_reproduces_training_labels(model: ModelConfig) -> None:
    table, _ = blob_table(600, centers=4, std=0.4, seed=9)
    seg = fit_segmentation(table, NO_LOG, model)
    shuffled = table.sample(fraction=1.0, shuffle=True, seed=1)
    got = predict(seg, shuffled)
    ids = shuffled.get_column("customer_id").to_numpy().astype(str)
    expected = seg.labels[np.searchsorted(seg.customer_ids, ids)]
    keep = expected >= 0  # HDBSCAN noise gets its nearest segment on predict
    np.testing.assert_array_equal(got[keep], expected[keep])


def test_predict_marks_excluded_rows() -> None:
    table, _ = blob_table(300, centers=3, std=0.4, seed=9)
    seg = fit_segmentation(table, NO_LOG, ModelConfig(k=3))
    flagged = table.with_columns(excluded=pl.Series([True, False] * 150))
    got = predict(seg, flagged)
    assert (got[::2] == -1).all()
    assert (got[1::2] >= 0).all()
    with pytest.raises(ConfigError, match="'monetary'"):
        predict(seg, table.drop("monetary"))


def test_match_labels_by_shared_customers() -> None:
    table, _ = blob_table(800, centers=4, std=0.4, seed=12)
    prev = fit_segmentation(table, NO_LOG, ModelConfig(k=4))
    # Refit on a subset with a different seed: same segments, labels matched one to one.
    cur = fit_segmentation(table.head(600), NO_LOG, ModelConfig(k=4, random_state=3))
    mapping = match_labels(prev, cur)
    assert sorted(mapping.values()) == [0, 1, 2, 3]  # type: ignore[type-var]
    shared = np.searchsorted(prev.customer_ids, cur.customer_ids)
    remapped = np.array([mapping[int(s)] for s in cur.labels])
    np.testing.assert_array_equal(remapped, prev.labels[shared])


def test_match_labels_by_centres_and_new_segments() -> None:
    table, _ = blob_table(800, centers=3, std=0.4, seed=12)
    prev = fit_segmentation(table, NO_LOG, ModelConfig(k=3))
    renamed = table.with_columns(("X" + pl.col("customer_id")).alias("customer_id"))
    cur = fit_segmentation(renamed, NO_LOG, ModelConfig(k=3))
    assert match_labels(prev, cur) == {0: 0, 1: 1, 2: 2}
    # Four segments now: one of them has no predecessor.
    cur4 = fit_segmentation(renamed, NO_LOG, ModelConfig(k=4))
    mapping4 = match_labels(prev, cur4)
    assert sum(v is None for v in mapping4.values()) == 1
    assert sorted(v for v in mapping4.values() if v is not None) == [0, 1, 2]


def test_fewer_customers_than_k() -> None:
    table, _ = blob_table(5, centers=2, std=0.5, seed=0)
    with pytest.raises(DataSufficiencyError, match=r"only 5 customers.*k = 6"):
        fit_segmentation(table, NO_LOG, ModelConfig(k=6))


def test_fewer_distinct_customers_than_k() -> None:
    table = feature_table(
        {
            "recency_days": np.array([1, 1, 1, 9, 9, 9]),
            "frequency": np.array([2, 2, 2, 4, 4, 4]),
            "monetary": np.array([5.0, 5.0, 5.0, 7.0, 7.0, 7.0]),
        }
    )
    with pytest.raises(DataSufficiencyError, match=r"only 2 distinct customers.*k = 3"):
        fit_segmentation(table, NO_LOG, ModelConfig(k=3))


def test_all_customers_identical() -> None:
    table = feature_table(
        {
            "recency_days": np.full(10, 3),
            "frequency": np.full(10, 2),
            "monetary": np.full(10, 9.5),
        }
    )
    with pytest.raises(DataSufficiencyError, match="all 10 customers are identical"):
        fit_segmentation(table, NO_LOG, ModelConfig(k=2))


def test_everyone_excluded() -> None:
    table, _ = blob_table(10, centers=2, std=0.5, seed=0)
    table = table.with_columns(excluded=pl.lit(True))
    with pytest.raises(DataSufficiencyError, match="10 excluded"):
        fit_segmentation(table, NO_LOG, ModelConfig(k=2))


def test_constant_feature_dropped_in_fit() -> None:
    table, y = blob_table(300, centers=3, std=0.3, seed=3, features=("recency_days", "monetary"))
    assert table.get_column("frequency").n_unique() == 1
    with pytest.warns(ConstantFeatureWarning, match="'frequency'"):
        seg = fit_segmentation(table, NO_LOG, ModelConfig(k=3))
    assert seg.preprocessor.features_ == ("recency_days", "monetary")
    assert any("'frequency'" in w for w in seg.warnings)
    assert adjusted_rand_score(_truth(seg, table, y), seg.labels) > 0.95


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({"k": 1}, "k = 1 is out of range"),
        ({"k": K_MAX + 1}, f"k = {K_MAX + 1} is out of range"),
        ({"k": 2.5}, "2.5"),
        ({"k": None}, "k=None"),
        ({"algorithm": "dbscan"}, "'dbscan'"),
        ({"algorithm": "hierarchical", "linkage": "single"}, "'single'"),
        ({"algorithm": "hdbscan", "k": 4}, "k = 4"),
        ({"random_state": "x"}, "'x'"),
        ({"n_init": 0}, "0"),
        ({"min_cluster_size": 1, "algorithm": "hdbscan", "k": None}, "1"),
        ({"covariance_type": "weird"}, "'weird'"),
        ({"hierarchical_method": "fast"}, "'fast'"),
    ],
)
def test_bad_model_config_quotes_value(kwargs: dict[str, object], quoted: str) -> None:
    with pytest.raises(ConfigError) as err:
        ModelConfig(**kwargs)  # type: ignore[arg-type]
    assert quoted in err.value.message
    assert err.value.hint


def test_configs_are_hashable_and_frozen() -> None:
    a = ModelConfig(algorithm="gmm", k=3, random_state=4)
    assert hash(a) == hash(ModelConfig(algorithm="gmm", k=3, random_state=4))
    assert {PreprocessConfig(): 1}[PreprocessConfig()] == 1
    with pytest.raises(AttributeError):
        a.k = 5  # type: ignore[misc]


def test_exact_above_limit_refused() -> None:
    rng = np.random.default_rng(0)
    n = 10_001
    table = feature_table({"recency_days": rng.integers(0, 100, n), "monetary": rng.normal(size=n)})
    model = ModelConfig(
        algorithm="hierarchical", k=3, linkage="average", hierarchical_method="exact"
    )
    with pytest.raises(ConfigError, match="limited to 10,000 customers, got 10,001"):
        fit_segmentation(table, PreprocessConfig(features=("recency_days", "monetary")), model)


def test_hdbscan_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.clustering.fit as fit_module

    monkeypatch.setattr(fit_module, "HDBSCAN_MAX_N", 100)
    table, _ = blob_table(101, centers=2, std=0.5, seed=0)
    with pytest.raises(ConfigError, match="HDBSCAN is limited to 100 customers, got 101"):
        fit_segmentation(table, NO_LOG, ModelConfig(algorithm="hdbscan", k=None))


@pytest.mark.parametrize("method", ["exact", "two_stage"])
def test_dendrogram_for_segmentation(method: str) -> None:
    table, _ = blob_table(1500, centers=4, std=0.5, seed=3)
    model = ModelConfig(algorithm="hierarchical", k=4, hierarchical_method=method, n_micro=300)  # type: ignore[arg-type]
    seg = fit_segmentation(table, NO_LOG, model)
    # Truncated to the last 4 clusters, the displayed leaves are exactly the 4 segments.
    info = dendrogram_for(seg, p=4)
    assert sorted(info["segments"]) == [0, 1, 2, 3]
    assert sum(info["customers"]) == 1500
    assert sorted(info["customers"]) == sorted(seg.sizes.tolist())
    assert k_for_height(seg.linkage, info["cut_height"]) == 4
    wider = dendrogram_for(seg, p=12)
    assert len(wider["leaves"]) == 12
    with pytest.raises(ConfigError, match="'kmeans'"):
        dendrogram_for(fit_segmentation(table, NO_LOG, ModelConfig(k=4)))
