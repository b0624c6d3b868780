"""choose_k: criteria, the recommendation, business limits, silhouette sampling."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_samples

from core.clustering.config import PreprocessConfig
from core.clustering.preprocess import FeaturePreprocessor, prepare_customers
from core.clustering.select_k import (
    _recommend,
    choose_k,
    davies_bouldin,
    silhouette_values,
    stratified_sample,
    within_ss,
)
from core.errors import ConfigError, DataSufficiencyError
from tests.core.clustering.synth import blob_table

NO_LOG = PreprocessConfig(log=())


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch", "gmm", "hierarchical"])
@pytest.mark.parametrize(("true_k", "seed"), [(3, 1), (5, 3)])
def test_finds_true_k_on_clear_blobs(algorithm: str, true_k: int, seed: int) -> None:
    table, _ = blob_table(1500, centers=true_k, std=0.5, seed=seed)
    result = choose_k(table, NO_LOG, algorithm=algorithm)  # type: ignore[arg-type]
    assert result.recommended_k == true_k
    assert not result.disagreement
    assert set(result.picks.values()) == {true_k}
    assert f"k = {true_k} is recommended" in result.reason
    assert result.knee == true_k


def test_table_columns_and_bic_only_for_mixtures() -> None:
    table, _ = blob_table(600, centers=3, std=0.5, seed=1)
    km = choose_k(table, NO_LOG, k_range=range(2, 7))
    assert km.table.columns == [
        "k",
        "inertia",
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
        "bic",
        "min_share",
        "eligible",
    ]
    assert km.table.get_column("k").to_list() == [2, 3, 4, 5, 6]
    assert km.table.get_column("bic").null_count() == 5
    inertia = km.table.get_column("inertia").to_list()
    assert inertia == sorted(inertia, reverse=True)
    gmm = choose_k(table, NO_LOG, k_range=range(2, 7), algorithm="gmm")
    assert gmm.table.get_column("bic").null_count() == 0
    assert gmm.picks["bic"] == 3


def test_criteria_match_sklearn_on_the_same_fit() -> None:
    x, _ = make_blobs(400, centers=3, n_features=2, random_state=0)
    result = choose_k(x, k_range=[2, 3, 4], silhouette_sample=1000)
    row = result.table.filter(pl.col("k") == 3).row(0, named=True)
    km = KMeans(3, n_init="auto", random_state=0).fit(x)
    assert row["inertia"] == pytest.approx(km.inertia_)
    assert row["calinski_harabasz"] == pytest.approx(calinski_harabasz_score(x, km.labels_))
    assert row["silhouette"] == pytest.approx(silhouette_samples(x, km.labels_).mean())
    assert result.silhouette_sample_size is None
    assert result.silhouette_note == "silhouette computed on all 400 customers"


def test_silhouette_values_equal_sklearn() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(700, 3))
    labels = rng.integers(0, 5, 700)
    labels[3] = 9  # a singleton cluster: silhouette 0 by convention
    want = silhouette_samples(x, labels)
    # Chunks that divide n or not, one chunk, and one row per chunk: every pair is counted once
    # for each of its two rows.
    for chunk in (1, 64, 128, 700, 1000):
        np.testing.assert_allclose(silhouette_values(x, labels, chunk=chunk), want, atol=1e-12)


def test_within_ss_equals_kmeans_inertia() -> None:
    x, _ = make_blobs(300, centers=4, n_features=3, random_state=2)
    km = KMeans(4, n_init=1, random_state=0).fit(x)
    assert within_ss(x, km.labels_, 4) == pytest.approx(km.inertia_, rel=1e-9)


def test_stratified_sample_keeps_shares_and_is_seeded() -> None:
    labels = np.repeat([0, 1, 2], [600, 300, 100])
    idx = stratified_sample(labels, 100, random_state=4)
    assert idx.size == 100
    assert np.bincount(labels[idx]).tolist() == [60, 30, 10]
    assert np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(idx, stratified_sample(labels, 100, random_state=4))
    assert not np.array_equal(idx, stratified_sample(labels, 100, random_state=5))
    # Tiny groups still get two members.
    small = np.repeat([0, 1], [998, 2])
    assert np.bincount(small[stratified_sample(small, 10)]).tolist()[1] == 2


def test_silhouette_sampled_above_threshold() -> None:
    table, _ = blob_table(3000, centers=4, std=0.5, seed=3)
    result = choose_k(table, NO_LOG, k_range=range(2, 7), silhouette_sample=500)
    assert result.silhouette_sample_size == 500
    assert "sample of 500 of 3,000 customers, stratified by segment (seed 0)" in (
        result.silhouette_note
    )
    assert result.recommended_k == 4


def test_min_share_excludes_k_and_says_why() -> None:
    # Blobs of 70 %, 20 %, 10 %: k = 3 has a smallest segment of 10 %.
    x = np.vstack(
        [
            np.random.default_rng(0).normal(loc, 0.3, size=(size, 2))
            for loc, size in ((0, 700), (5, 200), (10, 100))
        ]
    )
    free = choose_k(x, k_range=range(2, 6))
    assert free.recommended_k == 3
    limited = choose_k(x, k_range=range(2, 6), min_share=0.15)
    assert limited.recommended_k == 2
    assert "minimum share of 15.0%" in limited.reason
    assert "k = 3" in limited.reason
    eligible = dict(zip(limited.table["k"], limited.table["eligible"], strict=True))
    assert eligible[2]
    assert not eligible[3]


def test_max_segments_limit() -> None:
    table, _ = blob_table(1200, centers=5, std=0.5, seed=3)
    result = choose_k(table, NO_LOG, k_range=range(2, 9), max_segments=4)
    assert result.recommended_k is not None
    assert result.recommended_k <= 4
    assert "more than the maximum of 4 segments" in result.reason


def test_no_eligible_k() -> None:
    table, _ = blob_table(600, centers=3, std=0.5, seed=1)
    result = choose_k(table, NO_LOG, k_range=range(4, 8), min_share=0.45)
    assert result.recommended_k is None
    assert result.reason.startswith("No k from 4 to 7 meets the business limits")


def _table(rows: list[tuple[int, float, float, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "k": [r[0] for r in rows],
            "inertia": [100.0 / r[0] for r in rows],
            "silhouette": [r[1] for r in rows],
            "calinski_harabasz": [r[2] for r in rows],
            "davies_bouldin": [r[3] for r in rows],
            "bic": [None] * len(rows),
            "min_share": [0.2] * len(rows),
            "eligible": [True] * len(rows),
        },
        schema_overrides={"bic": pl.Float64()},
    )


def test_recommendation_flags_disagreement() -> None:
    # silhouette -> 2, CH -> 4, DB -> 2, knee -> 3.
    table = _table([(2, 0.6, 100.0, 0.5), (3, 0.5, 150.0, 0.7), (4, 0.4, 200.0, 0.9)])
    k, reason, disagreement, picks = _recommend(table, knee=3, min_share=0.0, max_segments=None)
    assert k == 2
    assert disagreement
    assert picks == {"silhouette": 2, "calinski_harabasz": 4, "davies_bouldin": 2, "knee": 3}
    assert "chosen by silhouette and Davies-Bouldin (2 of 4 criteria);" in reason
    assert "Calinski-Harabasz prefers k = 4" in reason
    assert "the inertia elbow prefers k = 3" in reason
    assert "The criteria disagree" in reason


def test_tied_vote_broken_by_silhouette() -> None:
    # silhouette -> 3, CH -> 2, DB -> 3, knee -> 2: two votes each; silhouette favours 3.
    table = _table([(2, 0.4, 300.0, 0.8), (3, 0.5, 200.0, 0.6)])
    k, reason, disagreement, _ = _recommend(table, knee=2, min_share=0.0, max_segments=None)
    assert k == 3
    assert disagreement
    assert "the tie is broken by the higher silhouette" in reason


def test_uniform_noise_has_no_clear_k() -> None:
    x = np.random.default_rng(0).uniform(size=(1000, 3))
    result = choose_k(x)
    assert result.table.get_column("silhouette").max() < 0.45  # type: ignore[operator]
    assert result.recommended_k is not None


def test_davies_bouldin_equals_sklearn() -> None:
    rng = np.random.default_rng(1)
    for scale, k in ((0.1, 3), (1.0, 5), (80.0, 9)):
        x = rng.normal(size=(900, 3)) * scale + rng.integers(0, 4, size=(900, 1))
        labels = rng.integers(0, k, 900)
        labels[labels == 1] = 0  # label 1 empty: left out, as scikit-learn never sees it
        want = davies_bouldin_score(x, labels)
        assert abs(davies_bouldin(x, labels) - want) <= 1e-12 * abs(want)
    blobs, _ = make_blobs(600, centers=4, n_features=2, random_state=3)
    km = KMeans(4, n_init=1, random_state=0).fit_predict(blobs)
    assert abs(davies_bouldin(blobs, km) - davies_bouldin_score(blobs, km)) <= 1e-12


def test_sweep_fits_on_a_stated_sample_and_scores_every_customer() -> None:
    table, _ = blob_table(3000, centers=4, std=0.5, seed=3)
    result = choose_k(table, NO_LOG, k_range=range(2, 6), fit_sample=1000)
    assert result.fit_sample_size == 1000
    assert result.fit_note == (
        "models fitted on 1,000 customers drawn from the 3,000 (seed 0), every customer scored"
    )
    assert result.recommended_k == 4
    # The same criteria from the oracle: K-means on the seeded sample, all rows assigned.
    frame, _ = prepare_customers(table, NO_LOG.features)
    x = FeaturePreprocessor(NO_LOG).fit_transform(frame)
    rows = np.sort(np.random.default_rng(0).choice(3000, size=1000, replace=False))
    km = KMeans(3, n_init="auto", random_state=0).fit(x[rows])
    labels = km.predict(x)
    row = result.table.filter(pl.col("k") == 3).row(0, named=True)
    assert row["inertia"] == pytest.approx(-km.score(x), rel=1e-9)
    assert row["calinski_harabasz"] == pytest.approx(calinski_harabasz_score(x, labels))
    assert row["davies_bouldin"] == pytest.approx(davies_bouldin_score(x, labels))
    assert row["min_share"] == pytest.approx(np.bincount(labels).min() / 3000)


def test_sweep_fits_on_every_customer_up_to_the_sample_size() -> None:
    table, _ = blob_table(1200, centers=3, std=0.5, seed=1)
    every = choose_k(table, NO_LOG, k_range=range(2, 5), fit_sample=None)
    at_size = choose_k(table, NO_LOG, k_range=range(2, 5), fit_sample=1200)
    assert at_size.fit_sample_size is None
    assert at_size.fit_note == "models fitted on all 1,200 customers"
    assert at_size.table.equals(every.table)
    # Hierarchical and mixture sweeps fit on every customer whatever the size.
    gmm = choose_k(table, NO_LOG, k_range=range(2, 5), algorithm="gmm", fit_sample=1000)
    assert gmm.fit_sample_size is None


@pytest.mark.parametrize(
    ("kwargs", "error", "quoted"),
    [
        ({"k_range": range(1, 5)}, ConfigError, "k in k_range = 1"),
        ({"k_range": [3]}, ConfigError, "[3]"),
        ({"k_range": range(2, 40)}, ConfigError, "31"),
        ({"algorithm": "hdbscan"}, ConfigError, "'hdbscan'"),
        ({"min_share": 0.7}, ConfigError, "0.7"),
        ({"max_segments": 1}, ConfigError, "max_segments = 1"),
        ({"silhouette_sample": 10}, ConfigError, "10"),
        ({"fit_sample": 10}, ConfigError, "10"),
        ({"fit_sample": 2.5}, ConfigError, "2.5"),
    ],
)
def test_bad_sweep_arguments(kwargs: dict[str, object], error: type, quoted: str) -> None:
    x = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(error) as err:
        choose_k(x, **kwargs)  # type: ignore[arg-type]
    assert quoted in err.value.message


def test_fewer_customers_than_largest_k() -> None:
    x = np.random.default_rng(0).normal(size=(6, 2))
    with pytest.raises(DataSufficiencyError, match=r"only 6 customers.*k = 10"):
        choose_k(x)
