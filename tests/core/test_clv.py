"""Predicted value (core.clv): the published CDNOW estimates, the paper's closed forms written
again here, the definitions on hand-made lines, and every bad input as a typed error."""

from __future__ import annotations

import datetime as dt
from importlib.metadata import distribution
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import optimize, special

from core import clv
from core.cleaning import CleaningConfig
from core.columns import AMOUNT, CUSTOMER, DATE
from core.errors import ConfigError, ConvergenceError, DataSufficiencyError
from core.pipeline import build_customer_table, load_transactions

CDNOW_END = dt.date(1997, 9, 30)
# Fader, Hardie & Lee (2005): BG/NBD on the 2,357 customers, 39 weeks; Gamma-Gamma on the 946
# repeat customers ("RFM and CLV", mean spend of the repeat transactions).
PUBLISHED_BGNBD = {"r": 0.2426, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LL = -9582.4
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def cdnow_sample_csv(tmp_path: Path) -> Path:
    """The CDNOW sample from the lifetimes wheel (a file of the installed distribution, the
    package is not imported) as a CSV with a header: customer, date, CDs, dollar value."""
    found = [f for f in distribution("lifetimes").files or () if f.name == "CDNOW_sample.txt"]
    assert found, "the lifetimes wheel no longer ships datasets/CDNOW_sample.txt"
    text = Path(str(found[0].locate())).read_text()
    rows = ["customer,date,cds,dollars"]
    for line in text.splitlines():
        if line.strip():
            _master_id, new_id, day, cds, dollars = line.split()
            rows.append(f"{new_id},{day},{cds},{dollars}")
    path = tmp_path / "cdnow_sample.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory) -> clv.ClvResult:
    """The sample read, mapped and cleaned as the CLI and the app do, then predicted.

    CDNOW lines are not invoice lines: two identical lines on one day are two real lines, and
    the paper counts the free ($0) purchases as purchases. The duplicate and non-positive
    rules are switched off as a user would on the Data page (with them, 21 + 8 lines go and
    8 customers with them)."""
    path = cdnow_sample_csv(tmp_path_factory.mktemp("cdnow"))
    loaded = load_transactions(
        path,
        overrides={"customer": "customer", "date": "date", "amount": "dollars"},
        date_format="%Y%m%d",
    )
    cleaning = CleaningConfig(duplicate=False, non_positive=False)
    lines = clv.table_lines(build_customer_table(loaded, cleaning=cleaning))
    return clv.predict_clv(lines, clv.ClvConfig(calibration_end=CDNOW_END, time_unit="week"))


def test_cdnow_customers_and_their_ages(cdnow: clv.ClvResult) -> None:
    table = cdnow.table
    assert table.height == 2357
    assert int((table["frequency"] > 0).sum()) == 946
    # The first customers bought on 1997-01-01: T = 272 days = 38.86 weeks (E included).
    assert table["T"].max() == pytest.approx(272 / 7)
    assert cdnow.calibration_end == CDNOW_END


def test_cdnow_bgnbd_reproduces_the_published_estimates(cdnow: clv.ClvResult) -> None:
    for name, published in PUBLISHED_BGNBD.items():
        assert getattr(cdnow.bgnbd, name) == pytest.approx(published, rel=0.005), name
    assert cdnow.bgnbd.log_likelihood == pytest.approx(PUBLISHED_LL, abs=0.05)


def test_cdnow_gamma_gamma_reproduces_the_published_estimates(cdnow: clv.ClvResult) -> None:
    for name, published in PUBLISHED_GG.items():
        assert getattr(cdnow.gamma_gamma, name) == pytest.approx(published, rel=0.005), name
    assert cdnow.gamma_gamma.customers == 946
    assert cdnow.gamma_gamma.left_out == 0


def _paper_p_alive(params: dict[str, float], x: np.ndarray, tx: np.ndarray, age: np.ndarray):
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x = x.astype(float)
    odds = np.zeros_like(x)
    rep = x > 0
    odds[rep] = a / (b + x[rep] - 1) * ((alpha + age[rep]) / (alpha + tx[rep])) ** (r + x[rep])
    return 1 / (1 + odds)


def _paper_expected(params: dict[str, float], t: float, x: np.ndarray, tx, age) -> np.ndarray:
    """FHL 2005 eq. 10 as printed (hypergeometric of the untransformed arguments)."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + age + t))
    top = (a + b + x - 1) / (a - 1) * (1 - ((alpha + age) / (alpha + age + t)) ** (r + x) * hyp)
    return top * _paper_p_alive(params, x, tx, age)


def test_cdnow_predictions_equal_the_papers_closed_forms(cdnow: clv.ClvResult) -> None:
    table = cdnow.table
    x, tx, age = (table[c].to_numpy() for c in ("frequency", "recency", "T"))
    bg = cdnow.bgnbd
    fitted = {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b}
    np.testing.assert_allclose(table["p_alive"].to_numpy(), _paper_p_alive(fitted, x, tx, age))
    horizon = clv.DEFAULT_HORIZON["week"]
    np.testing.assert_allclose(
        table["expected_orders"].to_numpy(), _paper_expected(fitted, horizon, x, tx, age), rtol=1e-9
    )
    # At the published parameters too (the forms, not only the fit).
    published = clv.BgNbd(**PUBLISHED_BGNBD, log_likelihood=0.0)
    np.testing.assert_allclose(
        clv.expected_orders(published, 39.0, x, tx, age),
        _paper_expected(PUBLISHED_BGNBD, 39.0, x, tx, age),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        clv.p_alive(published, x, tx, age), _paper_p_alive(PUBLISHED_BGNBD, x, tx, age)
    )


def test_cdnow_revenue_is_orders_times_spend(cdnow: clv.ClvResult) -> None:
    t = cdnow.table
    gg = cdnow.gamma_gamma
    once = t.filter(pl.col("frequency") == 0)
    assert once["expected_avg_order_value"].to_numpy() == pytest.approx(
        gg.p * gg.gamma / (gg.q - 1)
    )
    np.testing.assert_allclose(
        t["predicted_revenue"].to_numpy(),
        t["expected_orders"].to_numpy() * t["expected_avg_order_value"].to_numpy(),
    )
    assert list(t.columns) == list(clv.CLV_COLUMNS)


def test_cdnow_holdout_counts_the_repeat_days_after_the_end(cdnow: clv.ClvResult) -> None:
    holdout = cdnow.holdout
    assert holdout is not None
    assert holdout["start"] == "1997-10-01"
    assert sum(w["actual"] for w in holdout["weeks"]) == holdout["actual"]
    assert sum(w["days"] for w in holdout["weeks"]) == holdout["days"]
    assert sum(w["predicted"] for w in holdout["weeks"]) == pytest.approx(holdout["predicted"])
    table = cdnow.table
    span = holdout["days"] / 7
    total = clv.expected_orders(
        cdnow.bgnbd, span, *(table[c].to_numpy() for c in ("frequency", "recency", "T"))
    ).sum()
    assert holdout["predicted"] == pytest.approx(total)


@pytest.mark.parametrize(
    ("loglik", "start"),
    [
        (clv.bgnbd_log_likelihood, [0.3, 4.0, 0.8, 2.5]),
        (clv.gamma_gamma_log_likelihood, [6.0, 3.0, 15.0]),
    ],
)
def test_gradients_match_finite_differences(cdnow: clv.ClvResult, loglik, start) -> None:
    t = cdnow.table.filter(pl.col("frequency") > 0)
    x = t["frequency"].to_numpy().astype(float)
    if loglik is clv.bgnbd_log_likelihood:
        data = (x, t["recency"].to_numpy(), t["T"].to_numpy())
    else:  # any positive spends will do
        data = (x, 10.0 + np.arange(t.height) % 17)
    logs = np.log(start)
    total = lambda v: loglik(np.exp(v), *data)[0].sum()  # noqa: E731
    grad = lambda v: loglik(np.exp(v), *data)[1].sum(axis=1)  # noqa: E731
    numeric = optimize.approx_fprime(logs, total, 1e-6)
    np.testing.assert_allclose(grad(logs), numeric, rtol=1e-4, atol=1e-3)


# ---------------------------------------------------------------------------------------------
# Definitions on hand-made lines


def _lines(*rows: tuple[str, str, float]) -> pl.LazyFrame:
    """(customer, date, amount) rows: positive amounts are purchases, negative cancellations."""
    frame = pl.DataFrame(
        {
            CUSTOMER: [r[0] for r in rows],
            DATE: [dt.datetime.fromisoformat(r[1]) for r in rows],
            AMOUNT: [r[2] for r in rows],
        }
    )
    purchases = frame.filter(pl.col(AMOUNT) > 0).lazy()
    returns = frame.filter(pl.col(AMOUNT) < 0).lazy()
    return clv.clv_lines(purchases, returns)


def test_summary_counts_days_not_orders_and_stops_at_the_end() -> None:
    lines = _lines(
        ("a", "2024-01-01 09:00", 10.0),
        ("a", "2024-01-01 17:00", 5.0),  # same day: one purchase, spend 15
        ("a", "2024-01-08 10:00", 20.0),
        ("a", "2024-01-08 11:00", -4.0),  # cancelled that day: the day's net spend is 16
        ("a", "2024-01-10 10:00", -3.0),  # a cancellation alone is no purchase day
        ("a", "2024-01-15 12:00", 30.0),  # on E: counted
        ("a", "2024-01-16 12:00", 99.0),  # after E: holdout only
        ("b", "2024-01-14 10:00", 7.0),
        ("c", "2024-01-20 10:00", 7.0),  # first bought after E: not in the calibration
    )
    days = clv.purchase_days(lines)
    summary = clv.customer_summary(days, dt.date(2024, 1, 15), "day")
    assert summary[CUSTOMER].to_list() == ["a", "b"]
    a = summary.row(0, named=True)
    assert (a["frequency"], a["recency"], a["T"]) == (2, 14.0, 14.0)
    assert a["repeat_spend"] == pytest.approx((16.0 + 30.0) / 2)
    assert a["holdout_days"] == 1
    b = summary.row(1, named=True)
    assert (b["frequency"], b["recency"], b["T"], b["repeat_spend"]) == (0, 0.0, 1.0, None)
    weeks = clv.customer_summary(days, dt.date(2024, 1, 15), "week")
    assert weeks.row(0, named=True)["T"] == pytest.approx(2.0)
    months = clv.customer_summary(days, dt.date(2024, 1, 15), "month")
    assert months.row(0, named=True)["T"] == pytest.approx(14 / (365.25 / 12))


def test_a_day_cancelled_in_full_nets_to_zero_not_to_a_float_residue() -> None:
    # 3 x 0.10 bought (0.30000000000000004 as quantity x price) and 0.30 cancelled nets to
    # 5.6e-17 in floats: as a "positive" mean spend it entered the spend model with
    # log(m) = -37 and moved its fit; to the cent it is 0 and is left out.
    lines = _lines(
        ("a", "2024-01-01 09:00", 4.0),
        ("a", "2024-01-05 09:00", 3 * 0.1),
        ("a", "2024-01-05 11:00", -0.3),
    )
    days = clv.purchase_days(lines)
    assert days["spend"].to_list() == [4.0, 0.0]


def test_the_calibration_end_defaults_to_the_last_purchase_day() -> None:
    days = clv.purchase_days(_lines(("a", "2024-01-01", 1.0), ("a", "2024-03-05 23:59", 2.0)))
    assert clv.resolve_calibration_end(days, None) == dt.date(2024, 3, 5)


@pytest.mark.parametrize("end", [dt.date(2023, 12, 31), dt.date(2024, 3, 6)])
def test_a_calibration_end_outside_the_data_is_refused(end: dt.date) -> None:
    days = clv.purchase_days(_lines(("a", "2024-01-01", 1.0), ("a", "2024-03-05", 2.0)))
    with pytest.raises(ConfigError, match="outside the data"):
        clv.resolve_calibration_end(days, end)


def test_too_few_repeat_customers_is_a_clear_error() -> None:
    rows = [(f"c{i}", "2024-01-01", 5.0) for i in range(50)]
    rows += [("c0", "2024-02-01", 5.0), ("c1", "2024-02-03", 5.0)]
    with pytest.raises(DataSufficiencyError, match="only 2 customer"):
        clv.predict_clv(_lines(*rows))


def test_spend_model_leaves_out_non_positive_means_and_says_so() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(1, 6, 200).astype(float)
    m = rng.gamma(6.0, 5.0, 200)
    m[:7] = [0.0, -3.0, 0.0, -1.0, 0.0, 0.0, -9.0]
    fit = clv.fit_gamma_gamma(x, m)
    assert (fit.customers, fit.left_out) == (193, 7)


def test_a_fit_without_a_maximum_is_a_convergence_error() -> None:
    # The likelihood grows without bound in its first parameter: the optimiser runs to the bound.
    def unbounded(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.log(params[:1]) + 0 * params[1:2], np.array([[1.0], [0.0]])

    with pytest.raises(ConvergenceError, match="did not converge"):
        clv._maximise(unbounded, np.zeros(2), "test")


@pytest.mark.parametrize("horizon", [0.0, -1.0, float("nan")])
def test_a_bad_horizon_is_refused(horizon: float) -> None:
    with pytest.raises(ConfigError, match="horizon"):
        clv.ClvConfig(horizon=horizon)


def test_an_unknown_unit_is_refused() -> None:
    with pytest.raises(ConfigError, match="time unit"):
        clv.ClvConfig(time_unit="fortnight")  # type: ignore[arg-type]


def synthetic_rows(customers: int, seed: int) -> list[tuple[str, str, float]]:
    """Small purchase histories over 200 days from 2024-01-01: each customer has their own
    purchase rate and their own mean spend (the heterogeneity both models describe)."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(customers):
        first = int(rng.integers(0, 60))
        rate = rng.gamma(0.8, 1 / 40)  # purchases a day
        extra = rng.integers(first, 200, rng.poisson(rate * (200 - first))).tolist()
        scale = 1 / rng.gamma(4.0, 1 / 60.0)  # spend: Gamma(5, scale), scale varies
        for d in sorted({first, *extra}):
            day = (dt.date(2024, 1, 1) + dt.timedelta(days=d)).isoformat()
            rows.append((f"c{c:03d}", day, float(rng.gamma(5.0, scale))))
    return rows


def test_shuffled_lines_give_the_same_predictions() -> None:
    rows = synthetic_rows(300, seed=3)
    config = clv.ClvConfig(calibration_end=dt.date(2024, 5, 1))
    ordered = clv.predict_clv(_lines(*rows), config)
    permutation = np.random.default_rng(0).permutation(len(rows))
    shuffled = clv.predict_clv(_lines(*[rows[i] for i in permutation]), config)
    assert ordered.bgnbd == shuffled.bgnbd
    assert ordered.gamma_gamma == shuffled.gamma_gamma
    assert ordered.table.equals(shuffled.table)
    assert ordered.table[CUSTOMER].is_unique().all()
    assert ordered.holdout is not None
