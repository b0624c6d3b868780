"""Preprocessing: feature choice, imputation, capping, log, scaling, projection."""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.clustering.config import PreprocessConfig
from core.clustering.preprocess import (
    ConstantFeatureWarning,
    FeaturePreprocessor,
    prepare_customers,
)
from core.errors import ConfigError, DataSufficiencyError, SchemaError
from tests.core.clustering.synth import feature_table


def _tiny() -> pl.DataFrame:
    return feature_table(
        {
            "recency_days": np.array([10, 20, 30, 40, 50]),
            "frequency": np.array([1, 2, 3, 4, 5]),
            "monetary": pl.Series([100.0, None, 300.0, np.inf, 500.0]),  # type: ignore[dict-item]
        },
        ids=["c", "a", "e", "b", "d"],
    )


def test_prepare_sorts_by_id_and_drops_excluded() -> None:
    table = feature_table(
        {"recency_days": np.array([1, 2, 3]), "frequency": np.array([1, 1, 2])},
        ids=["z", "b", "m"],
        excluded=np.array([False, True, False]),
    )
    frame, n_excluded = prepare_customers(table, ("recency_days", "frequency"))
    assert frame.get_column("customer_id").to_list() == ["m", "z"]
    assert frame.get_column("recency_days").to_list() == [3, 1]
    assert n_excluded == 1


def test_prepare_treats_null_excluded_as_included_and_accepts_lazy() -> None:
    table = pl.DataFrame(
        {"customer_id": ["b", "a"], "frequency": [1, 2], "excluded": [None, True]},
        schema={"customer_id": pl.String(), "frequency": pl.Int64(), "excluded": pl.Boolean()},
    )
    frame, n_excluded = prepare_customers(table.lazy(), ("frequency",))
    assert frame.get_column("customer_id").to_list() == ["b"]
    assert n_excluded == 1


def test_prepare_rejects_duplicate_and_null_ids() -> None:
    dup = pl.DataFrame({"customer_id": ["a", "b", "a"], "frequency": [1, 2, 3]})
    with pytest.raises(SchemaError, match=r"\['a'\]"):
        prepare_customers(dup, ("frequency",))
    null = pl.DataFrame({"customer_id": ["a", None], "frequency": [1, 2]})
    with pytest.raises(SchemaError, match="1 customer"):
        prepare_customers(null, ("frequency",))
    no_id = pl.DataFrame({"frequency": [1, 2]})
    with pytest.raises(SchemaError, match="customer_id"):
        prepare_customers(no_id, ("frequency",))


def test_feature_missing_from_table_lists_available_ones() -> None:
    table = pl.DataFrame({"customer_id": ["a", "b"], "frequency": [1, 2], "monetary": [1.0, 2]})
    with pytest.raises(ConfigError, match="'recency_days'") as err:
        prepare_customers(table, ("recency_days", "frequency"))
    assert err.value.hint is not None
    assert "frequency, monetary" in err.value.hint


def test_unknown_feature_name_lists_available_ones() -> None:
    with pytest.raises(ConfigError, match="'spend'") as err:
        PreprocessConfig(features=("recency_days", "spend"))
    assert err.value.hint is not None
    assert "recency_days" in err.value.hint
    assert "return_rate" in err.value.hint


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({"scaler": "zscore"}, "'zscore'"),
        ({"cap_quantile": 0.3}, "0.3"),
        ({"cap_quantile": 1.0}, "1.0"),
        ({"log": ("tenure_days",)}, "'tenure_days'"),
        ({"log": "yes"}, "'yes'"),
        ({"features": ()}, "no feature is selected"),
        ({"features": ("frequency", "frequency")}, "'frequency'"),
    ],
)
def test_bad_preprocess_config_quotes_value(kwargs: dict[str, object], quoted: str) -> None:
    with pytest.raises(ConfigError) as err:
        PreprocessConfig(**kwargs)  # type: ignore[arg-type]
    assert quoted in err.value.message


def test_impute_median_counts_and_standard_scaling_by_hand() -> None:
    frame, _ = prepare_customers(_tiny(), ("recency_days", "frequency", "monetary"))
    pre = FeaturePreprocessor(PreprocessConfig(log=()))
    x = pre.fit_transform(frame)
    # Sorted ids a, b, c, d, e -> monetary None, inf, 100, 500, 300; median of finite = 300.
    assert pre.medians_["monetary"] == 300.0
    assert pre.n_imputed_ == {"recency_days": 0, "frequency": 0, "monetary": 2}
    assert any("monetary: 2 missing or infinite" in w for w in pre.warnings_)
    monetary = np.array([300.0, 300.0, 100.0, 500.0, 300.0])
    expected = (monetary - monetary.mean()) / monetary.std()
    np.testing.assert_allclose(x[:, 2], expected)
    recency = np.array([20, 40, 10, 50, 30], dtype=float)
    np.testing.assert_allclose(x[:, 0], (recency - 30) / recency.std())
    assert np.isfinite(x).all()


def test_transform_new_customers_with_fitted_state() -> None:
    frame, _ = prepare_customers(_tiny(), ("recency_days", "frequency", "monetary"))
    pre = FeaturePreprocessor(PreprocessConfig(log=()))
    x = pre.fit_transform(frame)
    np.testing.assert_allclose(pre.transform(frame), x)
    new = pl.DataFrame(
        {"recency_days": [30, None], "frequency": [3, 3], "monetary": [float("nan"), -np.inf]}
    )
    got, counts = pre.transform_with_report(new)
    assert counts == {"recency_days": 1, "frequency": 0, "monetary": 2}
    # Imputed with the fitted medians (recency 30, monetary 300) -> the fitted mean row.
    np.testing.assert_allclose(got[0], [0.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(got[1], got[0])


def test_auto_log_picks_skewed_non_negative_features() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    table = feature_table(
        {
            "monetary": rng.lognormal(5, 1.5, n),  # skewed, >= 0 -> log
            "recency_days": rng.integers(0, 365, n),  # uniform -> no log
            "return_rate": -rng.lognormal(0, 1.5, n),  # skewness < 0 -> no log
            "frequency": rng.geometric(0.3, n) - 3,  # skewed but negative values -> no log
        }
    )
    cfg = PreprocessConfig(features=("monetary", "recency_days", "return_rate", "frequency"))
    frame, _ = prepare_customers(table, cfg.features)
    pre = FeaturePreprocessor(cfg)
    x = pre.fit_transform(frame)
    assert pre.log_features_ == ("monetary",)
    logged = np.log1p(frame.get_column("monetary").to_numpy())
    np.testing.assert_allclose(x[:, 0], (logged - logged.mean()) / logged.std())


def test_explicit_log_rejects_negative_values() -> None:
    table = feature_table({"monetary": np.array([-5.0, 1.0, 2.0])})
    cfg = PreprocessConfig(features=("monetary",), log=("monetary",))
    frame, _ = prepare_customers(table, cfg.features)
    with pytest.raises(ConfigError, match=r"minimum -5"):
        FeaturePreprocessor(cfg).fit(frame)


def test_explicit_log_and_none() -> None:
    table = feature_table({"frequency": np.array([0, 1, 3, 7]), "monetary": np.arange(4.0)})
    frame, _ = prepare_customers(table, ("frequency", "monetary"))
    pre = FeaturePreprocessor(
        PreprocessConfig(features=("frequency", "monetary"), log=("frequency",), scaler="minmax")
    ).fit(frame)
    assert pre.log_features_ == ("frequency",)
    x = pre.transform(frame)
    # log1p(0, 1, 3, 7) = 0, log 2, log 4, log 8 -> min-max 0, 1/3, 2/3, 1.
    np.testing.assert_allclose(x[:, 0], [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(x[:, 1], [0, 1 / 3, 2 / 3, 1])


def test_quantile_capping_uses_fitted_quantiles() -> None:
    values = np.arange(101, dtype=float)  # 0..100
    table = feature_table({"monetary": values, "frequency": values[::-1].astype(np.int64)})
    cfg = PreprocessConfig(features=("monetary", "frequency"), log=(), cap_quantile=0.9)
    frame, _ = prepare_customers(table, cfg.features)
    pre = FeaturePreprocessor(cfg).fit(frame)
    assert pre.caps_["monetary"] == pytest.approx((10.0, 90.0))
    capped = np.clip(values, 10, 90)
    new = pl.DataFrame({"monetary": [1000.0, -50.0], "frequency": [50, 50]})
    got = pre.transform(new)
    assert got[0, 0] == pytest.approx((90 - capped.mean()) / capped.std())
    assert got[1, 0] == pytest.approx((10 - capped.mean()) / capped.std())


def test_robust_scaler_centres_on_median() -> None:
    table = feature_table({"monetary": np.array([1.0, 2.0, 3.0, 4.0, 100.0])})
    cfg = PreprocessConfig(features=("monetary",), log=(), scaler="robust")
    frame, _ = prepare_customers(table, cfg.features)
    x = FeaturePreprocessor(cfg).fit_transform(frame)
    # median 3, IQR 4 - 2 = 2.
    np.testing.assert_allclose(x[:, 0], [-1.0, -0.5, 0.0, 0.5, 48.5])


def test_constant_feature_flagged_and_dropped() -> None:
    table = feature_table(
        {
            "recency_days": np.array([1, 5, 9, 2]),
            "frequency": np.array([3, 3, 3, 3]),
            "monetary": np.array([1.0, 2.0, 3.0, 4.0]),
        }
    )
    cfg = PreprocessConfig(log=())
    frame, _ = prepare_customers(table, cfg.features)
    pre = FeaturePreprocessor(cfg)
    with pytest.warns(ConstantFeatureWarning, match="'frequency'.*3"):
        x = pre.fit_transform(frame)
    assert pre.features_ == ("recency_days", "monetary")
    assert pre.dropped_constant_ == ("frequency",)
    assert x.shape == (4, 2)
    assert any("'frequency'" in w and "dropped" in w for w in pre.warnings_)
    assert pre.transform(frame).shape == (4, 2)


def test_all_features_constant_is_an_error() -> None:
    table = feature_table({"frequency": np.array([2, 2, 2]), "monetary": np.array([5.0] * 3)})
    cfg = PreprocessConfig(features=("frequency", "monetary"))
    frame, _ = prepare_customers(table, cfg.features)
    with pytest.raises(DataSufficiencyError, match="all 3 customers are identical"):
        FeaturePreprocessor(cfg).fit(frame)


def test_feature_without_any_value_is_an_error() -> None:
    table = feature_table(
        {"frequency": np.array([1, 2, 3]), "avg_days_between_orders": np.full(3, np.nan)}
    )
    cfg = PreprocessConfig(features=("frequency", "avg_days_between_orders"))
    frame, _ = prepare_customers(table, cfg.features)
    with pytest.raises(DataSufficiencyError, match="'avg_days_between_orders'"):
        FeaturePreprocessor(cfg).fit(frame)


def test_projection_shapes() -> None:
    rng = np.random.default_rng(1)
    table = feature_table(
        {"recency_days": rng.integers(0, 100, 50), "monetary": rng.lognormal(3, 1, 50)}
    )
    cfg = PreprocessConfig(features=("recency_days", "monetary"))
    frame, _ = prepare_customers(table, cfg.features)
    pre = FeaturePreprocessor(cfg)
    x = pre.fit_transform(frame)
    proj = pre.project(x)
    assert proj.shape == (50, 2)
    assert pre.explained_variance_ratio_.sum() == pytest.approx(1.0)
    single = FeaturePreprocessor(PreprocessConfig(features=("monetary",)))
    xs = single.fit_transform(frame)
    ps = single.project(xs)
    assert ps.shape == (50, 2)
    assert np.all(ps[:, 1] == 0)


finite_or_missing = st.one_of(
    st.none(),
    st.just(math.inf),
    st.just(-math.inf),
    st.just(math.nan),
    st.floats(min_value=0, max_value=1e9),
)


@settings(max_examples=60, deadline=None)
# Found by Hypothesis: a spread of subnormal values (variance 0 once scaled, so PCA divided by
# zero) and a constant column whose float std is not 0.
@example(values=[(None, 5e-324, 0.0), (0.0, 0.0, None)], scaler="standard", cap=None)
@example(
    values=[
        (None, None, None),
        (None, None, 858993459.3590089),
        (None, 0.0, None),
        (0.0, None, None),
    ],
    scaler="standard",
    cap=None,
)
@given(
    values=st.lists(
        st.tuples(finite_or_missing, finite_or_missing, finite_or_missing),
        min_size=2,
        max_size=30,
    ),
    scaler=st.sampled_from(["standard", "robust", "minmax"]),
    cap=st.sampled_from([None, 0.95]),
)
def test_output_is_always_finite(
    values: list[tuple[float | None, float | None, float | None]],
    scaler: str,
    cap: float | None,
) -> None:
    cols = list(zip(*values, strict=True))
    table = pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(len(values))],
            "gross": pl.Series(cols[0], dtype=pl.Float64, strict=False),
            "monetary": pl.Series(cols[1], dtype=pl.Float64, strict=False),
            "return_rate": pl.Series(cols[2], dtype=pl.Float64, strict=False),
        }
    )
    cfg = PreprocessConfig(
        features=("gross", "monetary", "return_rate"),
        scaler=scaler,  # type: ignore[arg-type]
        cap_quantile=cap,
    )
    frame, _ = prepare_customers(table, cfg.features)
    pre = FeaturePreprocessor(cfg)
    try:
        with warnings.catch_warnings():
            # Constant columns are expected here; the warning itself is tested above.
            warnings.simplefilter("ignore", ConstantFeatureWarning)
            x = pre.fit_transform(frame)
    except DataSufficiencyError:
        return  # every feature constant or without values: reported, not fitted
    assert np.isfinite(x).all()
    assert np.isfinite(pre.transform(table)).all()
    assert x.shape == (len(values), len(pre.features_))
