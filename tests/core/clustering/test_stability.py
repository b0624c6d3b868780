"""stability: bootstrap / seed agreement, per-segment Jaccard, borderline customers."""

from __future__ import annotations

import numpy as np
import pytest

import core.clustering.stability as stab
from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.fit import fit_segmentation
from core.clustering.stability import best_jaccard, customer_silhouette, rating, stability
from core.errors import ConfigError
from tests.core.clustering.synth import blob_table, feature_table

NO_LOG = PreprocessConfig(log=())


def _uniform(n: int = 1000) -> object:
    rng = np.random.default_rng(0)
    return feature_table(
        {
            "recency_days": rng.integers(0, 1000, n),
            "frequency": rng.integers(0, 1000, n),
            "monetary": rng.uniform(0, 1, n),
        }
    )


def test_rating_thresholds() -> None:
    assert rating(0.85) == "stable"
    assert rating(0.849) == "fairly stable"
    assert rating(0.6) == "fairly stable"
    assert rating(0.59) == "unstable"


def test_best_jaccard_by_hand() -> None:
    ref = np.array([0, 0, 0, 1, 1, 2])
    other = np.array([5, 5, 1, 1, 1, -1])
    # seg 0 {0,1,2}: with 5 {0,1} -> 2/3; with 1 {2,3,4} -> 1/5.  seg 1 {3,4}: with 1 -> 2/3.
    # seg 2 {5}: only noise in other -> 0.  Segment 3 absent -> NaN.
    got = best_jaccard(ref, other, 4)
    np.testing.assert_allclose(got[:3], [2 / 3, 2 / 3, 0.0])
    assert np.isnan(got[3])


def test_describe_names_the_less_reproducible_segments() -> None:
    # The charts call segments by name; the summary must too, not "segment 1".
    report = stability(_uniform(), NO_LOG, ModelConfig(k=3), n_boot=4)
    weak = [s for s, v in enumerate(report.per_segment_jaccard) if v < stab.STABLE]
    assert weak  # uniform noise: some segment is not reproduced
    names = ("Champions", "Need Attention", "Hibernating")
    text = report.describe(names)
    for s in weak:
        assert f"{names[s]} ({rating(float(report.per_segment_jaccard[s]))}" in text
    assert "segment " not in text.replace("the segmentation", "")
    # Without names, the report's own summary (numbers, as before).
    assert report.describe() == report.summary
    assert f"segment {weak[0]} (" in report.summary


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm", "hierarchical"])
def test_blobs_stable_uniform_noise_not(algorithm: str) -> None:
    table, _ = blob_table(1000, centers=4, std=0.5, seed=7)
    model = ModelConfig(algorithm=algorithm, k=4)  # type: ignore[arg-type]
    blobs = stability(table, NO_LOG, model, n_boot=8)
    assert blobs.ari_mean > 0.95
    assert blobs.rating == "stable"
    assert (blobs.per_segment_jaccard > 0.95).all()
    assert blobs.per_segment.get_column("rating").to_list() == ["stable"] * 4
    assert "Every segment is reproduced" in blobs.summary
    noise = stability(_uniform(), NO_LOG, model, n_boot=8)
    assert noise.ari_mean < 0.75
    assert noise.ari_mean < blobs.ari_mean - 0.2
    assert noise.rating != "stable"
    assert noise.borderline.height > blobs.borderline.height
    assert len(noise.aris) == 8


def test_seed_method_and_refusal_for_deterministic_fits() -> None:
    table, _ = blob_table(600, centers=3, std=0.5, seed=1)
    report = stability(table, NO_LOG, ModelConfig(k=3), n_boot=3, method="seeds")
    assert report.method == "seeds"
    assert report.ari_mean == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="hierarchical-ward-exact does not depend on the seed"):
        stability(table, NO_LOG, ModelConfig(algorithm="hierarchical", k=3), method="seeds")


def test_reuses_given_reference_and_is_seeded() -> None:
    table = _uniform(500)
    ref = fit_segmentation(table, NO_LOG, ModelConfig(k=3))
    a = stability(table, reference=ref, n_boot=4, random_state=1)
    b = stability(table, NO_LOG, ModelConfig(k=3), n_boot=4, random_state=1)
    assert a.reference is ref
    assert a.aris == b.aris
    c = stability(table, reference=ref, n_boot=4, random_state=2)
    assert c.aris != a.aris


def test_borderline_customers_between_two_blobs() -> None:
    rng = np.random.default_rng(3)
    left = rng.normal(-5.0, 0.5, size=(200, 2))
    right = rng.normal(5.0, 0.5, size=(200, 2))
    middle = np.column_stack([np.zeros(3), [-0.1, 0.0, 0.1]])
    x = np.vstack([left, right, middle])
    ids = [f"L{i:03d}" for i in range(200)] + [f"R{i:03d}" for i in range(200)]
    ids += ["M0", "M1", "M2"]
    table = feature_table({"recency_days": x[:, 0], "monetary": x[:, 1]}, ids=ids)
    cfg = PreprocessConfig(features=("recency_days", "monetary"), log=())
    report = stability(table, cfg, ModelConfig(k=2), n_boot=3)
    assert report.borderline_ids.tolist() == ["M0", "M1", "M2"]
    assert report.silhouette_kind == "exact"
    assert report.borderline.columns == [
        "customer_id",
        "segment",
        "silhouette",
        "nearest_other_segment",
    ]
    seg = report.borderline.get_column("segment").to_numpy()
    other = report.borderline.get_column("nearest_other_segment").to_numpy()
    assert ((seg + other) == 1).all()
    assert "3 of 403 customers (0.7%) are borderline" in report.summary


def test_simplified_silhouette_above_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    table, _ = blob_table(300, centers=3, std=0.5, seed=1)
    seg = fit_segmentation(table, NO_LOG, ModelConfig(k=3))
    exact, kind, _ = customer_silhouette(seg)
    assert kind == "exact"
    monkeypatch.setattr(stab, "EXACT_SILHOUETTE_MAX", 100)
    simple, kind, nearest = customer_silhouette(seg)
    assert kind == "simplified (centroid)"
    # Hand formula for one customer.
    d = np.linalg.norm(seg.X[0] - seg.centers_scaled, axis=1)
    own = seg.labels[0]
    others = np.delete(d, own)
    assert simple[0] == pytest.approx((others.min() - d[own]) / max(others.min(), d[own]))
    assert nearest[0] == np.delete(np.arange(3), own)[np.argmin(others)]
    # On clear blobs both versions agree that nobody is borderline.
    assert (exact > 0.5).all()
    assert (simple > 0.5).all()


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({"n_boot": 1}, "1"),
        ({"method": "jackknife"}, "'jackknife'"),
        ({"borderline_threshold": 2}, "2"),
        ({"bootstrap_max": 99}, "99"),
        ({"bootstrap_max": 2.5}, "2.5"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], quoted: str) -> None:
    table, _ = blob_table(100, centers=2, std=0.5, seed=1)
    with pytest.raises(ConfigError) as err:
        stability(table, NO_LOG, ModelConfig(k=2), **kwargs)  # type: ignore[arg-type]
    assert quoted in err.value.message


def test_bootstrap_draws_at_most_bootstrap_max_customers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Above bootstrap_max each refit draws that many customers (m-out-of-n), says so, and the
    # sizes reach the fitter; at or below it nothing changes.
    table, _ = blob_table(1000, centers=4, std=0.5, seed=7)
    ref = fit_segmentation(table, NO_LOG, ModelConfig(k=4))
    sizes: list[int] = []
    refit = stab._refit

    def spy(ref_: object, i: int, idx: np.ndarray | None) -> tuple[float, np.ndarray]:
        sizes.append(-1 if idx is None else idx.size)
        return refit(ref_, i, idx)  # type: ignore[arg-type]

    monkeypatch.setattr(stab, "_refit", spy)
    small = stability(table, reference=ref, n_boot=4, bootstrap_max=300)
    assert sizes == [300] * 4
    assert small.sample_size == 300
    assert "(each on 300 customers drawn from the 1,000)" in small.summary
    assert small.describe() == small.summary
    assert small.rating == "stable"  # clear blobs stay stable on the smaller draws
    sizes.clear()
    every = stability(table, reference=ref, n_boot=4, bootstrap_max=None)
    assert sizes == [1000] * 4
    assert every.sample_size is None
    assert "drawn from" not in every.summary
    sizes.clear()
    # n <= bootstrap_max: the same draws, the same answer as drawing every customer.
    same = stability(table, reference=ref, n_boot=4, bootstrap_max=1000)
    assert sizes == [1000] * 4
    assert same.aris == every.aris
    assert same.summary == every.summary
    # The default caps at 20,000: the data here is below it.
    assert stability(table, reference=ref, n_boot=4).aris == every.aris


def test_hdbscan_noise_is_not_a_segment() -> None:
    table, _ = blob_table(600, centers=3, std=0.3, seed=4)
    report = stability(table, NO_LOG, ModelConfig(algorithm="hdbscan", k=None), n_boot=3)
    assert report.per_segment.height == report.reference.k
    noise = report.reference.labels < 0
    assert np.isnan(report.silhouette[noise]).all()
    assert report.ari_mean > 0.9
