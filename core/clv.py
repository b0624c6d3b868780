"""Predicted customer value: BG/NBD for repeat purchases, Gamma-Gamma for spend per purchase.

Definitions (README, Definitions):

- Purchase occasions are calendar days: a customer's kept purchase lines on one day are one
  purchase, whatever the number of orders. The calibration end ``E`` (default: the last purchase
  day) is included; only days on or before ``E`` enter the fit.
- Per customer, in the chosen time unit (day; week = 7 days; month = 365.25 / 12 days):
  ``frequency`` x = purchase days - 1, ``recency`` t_x = last - first purchase day,
  ``T`` = E - first purchase day (a first purchase on 1997-01-01 with E = 1997-09-30 gives
  272 days = 38.86 weeks).
- A purchase day's spend is the net amount of the customer's lines that day (its purchase lines
  less the cancellations dated that day). Gamma-Gamma is fitted on the mean spend of the repeat
  days (the first day left out) of customers with x > 0 whose mean is positive.
- BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") and Gamma-Gamma
  (Fader, Hardie & Lee 2005, "RFM and CLV", after Colombo & Jiang 1999) are fitted by maximum
  likelihood on their closed-form log-likelihoods, log-parameterised, with analytic gradients
  (L-BFGS-B). ``p_alive`` and ``expected_orders`` (over a horizon H, in the time unit) are the
  paper's closed forms; ``expected_avg_order_value`` is the Gamma-Gamma conditional mean (the
  population mean where x = 0); ``predicted_revenue`` = expected_orders x
  expected_avg_order_value, undiscounted.

Pure NumPy/SciPy/Polars: no fitted object is pickled anywhere; a fit is four or three numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl
from scipy import optimize, special
from threadpoolctl import threadpool_limits

from core.cleaning import split_queries
from core.columns import AMOUNT, CUSTOMER, DATE
from core.errors import ConfigError, ConvergenceError, DataSufficiencyError
from core.money import cents

if TYPE_CHECKING:
    from core.pipeline import CustomerTable

TimeUnit = Literal["day", "week", "month"]
UNIT_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
DEFAULT_UNIT: TimeUnit = "week"
# The default horizon: one year in the chosen unit.
DEFAULT_HORIZON: dict[str, float] = {"day": 365.0, "week": 52.0, "month": 12.0}
MIN_REPEAT_CUSTOMERS = 20  # fewer customers with x > 0 cannot pin down four parameters
LIKELY_LOST = 0.5  # p_alive below this: likely lost
CLV_COLUMNS: tuple[str, ...] = (
    CUSTOMER,
    "frequency",
    "recency",
    "T",
    "p_alive",
    "expected_orders",
    "expected_avg_order_value",
    "predicted_revenue",
)
_LOG_BOUND = 15.0  # parameters kept within exp(+-15); a fit ending there did not converge
_DAY = "day"
_SPEND = "spend"
_PURCHASE = "is_purchase"


@dataclass(frozen=True)
class ClvConfig:
    """What a prediction depends on besides the lines: E (None: the last purchase day), the
    time unit and the horizon H in that unit (None: one year)."""

    calibration_end: dt.date | None = None
    time_unit: TimeUnit = DEFAULT_UNIT
    horizon: float | None = None

    def __post_init__(self) -> None:
        if self.time_unit not in UNIT_DAYS:
            raise ConfigError(
                f"unknown time unit {self.time_unit!r}", f"use one of: {', '.join(UNIT_DAYS)}"
            )
        if self.horizon is not None and not (math.isfinite(self.horizon) and self.horizon > 0):
            raise ConfigError(
                f"the horizon must be a positive number of {self.time_unit}s, got {self.horizon}",
                f"e.g. {DEFAULT_HORIZON[self.time_unit]:g}",
            )

    @property
    def horizon_units(self) -> float:
        return DEFAULT_HORIZON[self.time_unit] if self.horizon is None else float(self.horizon)


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    customers: int  # the customers it was fitted on
    left_out: int  # repeat customers whose mean repeat-day spend is not positive


# ---------------------------------------------------------------------------------------------
# Per-customer summary from the cleaned lines


def clv_lines(purchases: pl.LazyFrame, returns: pl.LazyFrame) -> pl.LazyFrame:
    """Customer, day, amount and whether the line is a purchase: the cleaned purchase lines and
    the cancellation lines (negative amounts) as :func:`core.cleaning.split_queries` gives them."""
    cols = [pl.col(CUSTOMER), pl.col(DATE).dt.date().alias(_DAY), pl.col(AMOUNT)]
    return pl.concat(
        [
            purchases.select(*cols, pl.lit(True).alias(_PURCHASE)),
            returns.select(*cols, pl.lit(False).alias(_PURCHASE)),
        ]
    ).filter(pl.col(CUSTOMER).is_not_null() & pl.col(_DAY).is_not_null())


def table_lines(table: CustomerTable) -> pl.LazyFrame:
    """:func:`clv_lines` of a customer table: the same cleaned lines its features come from."""
    if table.source is None or table.reasons is None:
        raise DataSufficiencyError(
            "the purchase lines of this data are not available for predictions",
            "load the transaction file (a customer feature table has no lines)",
        )
    return clv_lines(*split_queries(table.source, table.reasons, table.audit))


def purchase_days(lines: pl.LazyFrame) -> pl.DataFrame:
    """One row per customer and purchase day with the day's net spend (lines of
    :func:`clv_lines`); days with only cancellations are no purchase."""
    return (
        lines.group_by(CUSTOMER, _DAY)
        # To the cent: a day whose cancellations undo its purchases nets to 0, not to a
        # float residue (1e-13) that would count as a positive spend, and the sum does not
        # depend on the order the group's lines arrive in.
        .agg(cents(pl.col(AMOUNT).sum()).alias(_SPEND), pl.col(_PURCHASE).any().alias(_PURCHASE))
        .filter(pl.col(_PURCHASE))
        .drop(_PURCHASE)
        .sort(CUSTOMER, _DAY)
        .collect()
    )


def resolve_calibration_end(days: pl.DataFrame, wanted: dt.date | None) -> dt.date:
    """E: ``wanted``, checked to lie within the purchase days, else the last purchase day."""
    if days.height == 0:
        raise DataSufficiencyError(
            "there are no purchase lines to predict from", "load a file with purchase lines"
        )
    first, last = days.get_column(_DAY).min(), days.get_column(_DAY).max()
    assert isinstance(first, dt.date)
    assert isinstance(last, dt.date)
    if wanted is None:
        return last
    if not first <= wanted <= last:
        raise ConfigError(
            f"the calibration end {wanted.isoformat()} is outside the data "
            f"({first.isoformat()} to {last.isoformat()})",
            "choose a date between the first and the last purchase day",
        )
    return wanted


def customer_summary(days: pl.DataFrame, end: dt.date, unit: TimeUnit) -> pl.DataFrame:
    """frequency, recency, T (in ``unit``), mean repeat-day spend and holdout purchase days per
    customer whose first purchase is on or before ``end``, sorted by customer id."""
    width = UNIT_DAYS[unit]
    day, spend = pl.col(_DAY), pl.col(_SPEND)
    calibration = day <= end
    return (
        days.lazy()
        .group_by(CUSTOMER)
        .agg(
            day.filter(calibration).min().alias("first"),
            day.filter(calibration).max().alias("last"),
            calibration.sum().alias("n"),
            spend.filter(calibration).sum().alias("total"),
            spend.filter(day == day.filter(calibration).min()).sum().alias("first_spend"),
            (~calibration).sum().alias("holdout_days"),
        )
        .filter(pl.col("n") > 0)
        .select(
            pl.col(CUSTOMER),
            (pl.col("n") - 1).cast(pl.Int64).alias("frequency"),
            ((pl.col("last") - pl.col("first")).dt.total_days() / width).alias("recency"),
            ((pl.lit(end) - pl.col("first")).dt.total_days() / width).alias("T"),
            pl.when(pl.col("n") > 1)
            .then((pl.col("total") - pl.col("first_spend")) / (pl.col("n") - 1))
            .alias("repeat_spend"),
            pl.col("holdout_days").cast(pl.Int64),
        )
        .sort(CUSTOMER)
        .collect()
    )


# ---------------------------------------------------------------------------------------------
# BG/NBD


def _by_value(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``x`` and the index of each element among them: special functions
    of x (a few hundred distinct counts) are evaluated once per value, not per customer."""
    values, index = np.unique(x, return_inverse=True)
    return values, index.reshape(x.shape)


def bgnbd_log_likelihood(
    params: np.ndarray,
    x: np.ndarray,
    tx: np.ndarray,
    age: np.ndarray,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood (FHL 2005, eq. 6; ``age`` is T) and its gradient with
    respect to (log r, log alpha, log a, log b), shape (4, n). ``groups``: ``_by_value(x)``."""
    r, alpha, a, b = params
    xs, at = _by_value(x) if groups is None else groups
    dg = special.digamma
    # Terms of x alone, per distinct x.
    const = (
        special.gammaln(r + xs)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.betaln(a, b + xs)
        - special.betaln(a, b)
    )[at]
    bx1 = np.where(xs > 0, b + xs - 1, 1.0)[at]
    d_r_x = (dg(r + xs) - dg(r) + np.log(alpha))[at]
    d_a_x = (dg(a + b) - dg(a + b + xs))[at]
    d_b_x = (dg(b + xs) - dg(a + b + xs) - dg(b) + dg(a + b))[at]
    log_age, log_tx = np.log(alpha + age), np.log(alpha + tx)
    a3 = -(r + x) * log_age
    a4 = np.where(x > 0, np.log(a) - np.log(bx1) - (r + x) * log_tx, -np.inf)
    tail = np.logaddexp(a3, a4)
    w3, w4 = np.exp(a3 - tail), np.exp(a4 - tail)
    d_r = d_r_x - w3 * log_age - w4 * log_tx
    d_alpha = r / alpha - (r + x) * (w3 / (alpha + age) + w4 / (alpha + tx))
    d_a = d_a_x + w4 / a
    d_b = d_b_x - w4 / bx1
    grad = np.stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return const + tail, grad


def fit_bgnbd(x: np.ndarray, tx: np.ndarray, age: np.ndarray) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters for the customers (x, t_x, T)."""
    x, tx, age = (np.asarray(v, dtype=float) for v in (x, tx, age))
    repeaters = int((x > 0).sum())
    if repeaters < MIN_REPEAT_CUSTOMERS:
        raise DataSufficiencyError(
            f"only {repeaters} customer(s) bought on more than one day before the calibration "
            f"end; the purchase model needs at least {MIN_REPEAT_CUSTOMERS}",
            "choose a later calibration end or load a longer history",
        )
    # Customers with the same (x, t_x, T) share one term, weighted by their number.
    triples, weight = np.unique(np.stack([x, tx, age]), axis=1, return_counts=True)
    ux, utx, uage = triples
    groups = _by_value(ux)

    def weighted(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ll, grad = bgnbd_log_likelihood(params, ux, utx, uage, groups)
        return ll * weight, grad * weight

    start = np.log([1.0, max(float(age.mean()), 1e-3), 1.0, 1.0])
    logs = _maximise(weighted, start, "purchase (BG/NBD)", n=x.size)
    r, alpha, a, b = np.exp(logs)
    ll = float(weighted(np.exp(logs))[0].sum())
    return BgNbd(r=float(r), alpha=float(alpha), a=float(a), b=float(b), log_likelihood=ll)


def p_alive(fit: BgNbd, x: np.ndarray, tx: np.ndarray, age: np.ndarray) -> np.ndarray:
    """P(still a customer | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) /
    (alpha + t_x))^(r + x)), computed in logs."""
    x, tx, age = (np.asarray(v, dtype=float) for v in (x, tx, age))
    repeat = x > 0
    log_odds = np.where(
        repeat,
        np.log(fit.a)
        - np.log(np.where(repeat, fit.b + x - 1, 1.0))
        + (fit.r + x) * (np.log(fit.alpha + age) - np.log(fit.alpha + tx)),
        -np.inf,
    )
    return special.expit(-log_odds)


def expected_orders(
    fit: BgNbd, horizon: float | np.ndarray, x: np.ndarray, tx: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """E[purchases in (T, T + horizon] | x, t_x, T] (FHL 2005, eq. 10).

    The paper's ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z) is taken through
    Euler's transformation to (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), z = t/(alpha+T+t):
    the same number, without the overflow of the first form for frequent buyers.
    """
    x, tx, age = (np.asarray(v, dtype=float) for v in (x, tx, age))
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    z = horizon / (alpha + age + horizon)
    tail = (1 - z) ** (a - 1) * special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    head = (a + b + x - 1) / (a - 1) * (1 - tail)
    return head * p_alive(fit, x, tx, age)


# ---------------------------------------------------------------------------------------------
# Gamma-Gamma


def gamma_gamma_log_likelihood(
    params: np.ndarray,
    x: np.ndarray,
    m: np.ndarray,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood of the mean spend m over x purchases and its gradient with
    respect to (log p, log q, log gamma), shape (3, n). ``groups``: ``_by_value(x)``."""
    p, q, g = params
    xs, at = _by_value(x) if groups is None else groups
    pxs = p * xs
    const = (special.gammaln(pxs + q) - special.gammaln(pxs) - special.gammaln(q))[at]
    psi = special.digamma(pxs + q)
    psi_px = (psi - special.digamma(pxs))[at]
    psi_q = (psi - special.digamma(q))[at]
    px = p * x
    log_m, log_x, log_gmx = np.log(m), np.log(x), np.log(g + m * x)
    ll = const + q * np.log(g) + (px - 1) * log_m + px * log_x - (px + q) * log_gmx
    d_p = x * (psi_px + log_m + log_x - log_gmx)
    d_q = psi_q + np.log(g) - log_gmx
    d_g = q / g - (px + q) / (g + m * x)
    return ll, np.stack([d_p * p, d_q * q, d_g * g])


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray) -> GammaGamma:
    """Gamma-Gamma parameters on the repeat customers (x > 0) whose mean spend m is positive."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    repeat = (x > 0) & np.isfinite(m)
    usable = repeat & (m > 0)
    n = int(usable.sum())
    if n < MIN_REPEAT_CUSTOMERS:
        raise DataSufficiencyError(
            f"only {n} repeat customer(s) have a positive mean spend on their repeat days; the "
            f"spend model needs at least {MIN_REPEAT_CUSTOMERS}",
            "choose a later calibration end or load a longer history",
        )
    xu, mu = x[usable], m[usable]
    start = np.log([1.0, 1.0, max(float(mu.mean()), 1e-6)])
    groups = _by_value(xu)
    logs = _maximise(
        lambda p: gamma_gamma_log_likelihood(p, xu, mu, groups), start, "spend (Gamma-Gamma)"
    )
    p, q, g = np.exp(logs)
    if q <= 1:
        raise ConvergenceError(
            f"the spend model's q = {q:.3g} is not above 1: the mean spend per purchase is "
            "unbounded for this data",
            "check the amounts for extreme values (capping outliers on the Data page helps)",
        )
    return GammaGamma(
        p=float(p), q=float(q), gamma=float(g), customers=n, left_out=int((repeat & ~usable).sum())
    )


def expected_avg_order_value(fit: GammaGamma, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[spend per purchase | x, m] = p (gamma + x m) / (p x + q - 1); where x = 0 (or m is
    missing) the population mean p gamma / (q - 1)."""
    x = np.asarray(x, dtype=float)
    m = np.nan_to_num(np.asarray(m, dtype=float), nan=0.0)
    xm = np.where(x > 0, x * m, 0.0)
    return fit.p * (fit.gamma + xm) / (fit.p * np.where(x > 0, x, 0.0) + fit.q - 1)


# ---------------------------------------------------------------------------------------------
# Shared optimiser


def _maximise(
    loglik: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    start: np.ndarray,
    what: str,
    *,
    n: int | None = None,
) -> np.ndarray:
    """Log-parameters maximising the summed log-likelihood (of ``n`` customers, by default
    one a term), or a :class:`ConvergenceError`."""

    def objective(logs: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            ll, grad = loglik(np.exp(logs))
        size = ll.size if n is None else n
        value, slope = -float(ll.sum()) / size, -grad.sum(axis=1) / size
        if not (math.isfinite(value) and np.isfinite(slope).all()):
            return 1e10, np.zeros_like(logs)
        return value, slope

    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * start.size
    # One BLAS thread: L-BFGS-B's small matrix steps lose more to thread hand-offs than they
    # gain, several times over when the other core is busy (bench/README.md, bench_clv.py).
    with threadpool_limits(limits=1):
        result = optimize.minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-8},
        )
    at_bound = np.any(np.abs(result.x) >= _LOG_BOUND - 1e-6)
    if not result.success or at_bound or result.fun >= 1e10:
        raise ConvergenceError(
            f"the {what} model did not converge ({result.message})",
            "the data may hold too few repeat purchases or extreme values; try another "
            "calibration end or time unit",
        )
    return np.asarray(result.x)


# ---------------------------------------------------------------------------------------------
# The whole prediction


@dataclass(frozen=True)
class ClvResult:
    """Fits, the per-customer predictions (:data:`CLV_COLUMNS`) and the holdout check."""

    config: ClvConfig
    calibration_end: dt.date
    bgnbd: BgNbd
    gamma_gamma: GammaGamma
    table: pl.DataFrame = field(compare=False, repr=False)
    holdout: dict[str, Any] | None = None

    def report(self) -> dict[str, Any]:
        """The JSON report: parameters, unit, E, H, the holdout check."""
        return {
            "bgnbd": asdict(self.bgnbd),
            "gamma_gamma": asdict(self.gamma_gamma),
            "time_unit": self.config.time_unit,
            "calibration_end": self.calibration_end.isoformat(),
            "horizon": self.config.horizon_units,
            "customers": self.table.height,
            "predicted_revenue": float(self.table.get_column("predicted_revenue").sum()),
            "discounting": "none",
            "holdout": self.holdout,
        }


def predict_clv(lines: pl.LazyFrame, config: ClvConfig = ClvConfig()) -> ClvResult:
    """Fit both models on the lines of :func:`clv_lines` up to E and predict every customer
    who bought on or before E; check against the lines after E where there are any."""
    days = purchase_days(lines)
    end = resolve_calibration_end(days, config.calibration_end)
    summary = customer_summary(days, end, config.time_unit)
    x, tx, age = (summary.get_column(c).to_numpy() for c in ("frequency", "recency", "T"))
    m = summary.get_column("repeat_spend").fill_null(np.nan).to_numpy()
    bg = fit_bgnbd(x, tx, age)
    gg = fit_gamma_gamma(x, m)
    table = predictions(summary, bg, gg, config.horizon_units)
    last = days.get_column(_DAY).max()
    assert isinstance(last, dt.date)
    holdout = (
        holdout_check(days, summary, bg, end=end, last=last, unit=config.time_unit)
        if last > end
        else None
    )
    return ClvResult(config, end, bg, gg, table, holdout)


def predictions(summary: pl.DataFrame, bg: BgNbd, gg: GammaGamma, horizon: float) -> pl.DataFrame:
    """:data:`CLV_COLUMNS` for the customers of :func:`customer_summary`."""
    x, tx, age = (summary.get_column(c).to_numpy() for c in ("frequency", "recency", "T"))
    m = summary.get_column("repeat_spend").fill_null(np.nan).to_numpy()
    orders = expected_orders(bg, horizon, x, tx, age)
    value = expected_avg_order_value(gg, x, m)
    return summary.select(CUSTOMER, "frequency", "recency", "T").with_columns(
        pl.Series("p_alive", p_alive(bg, x, tx, age)),
        pl.Series("expected_orders", orders),
        pl.Series("expected_avg_order_value", value),
        pl.Series("predicted_revenue", orders * value),
    )


def holdout_check(
    days: pl.DataFrame,
    summary: pl.DataFrame,
    bg: BgNbd,
    *,
    end: dt.date,
    last: dt.date,
    unit: TimeUnit,
) -> dict[str, Any]:
    """Predicted vs actual repeat purchase days after E by the calibration customers, in total
    and per week (week k covers days E + 7(k-1) + 1 .. E + 7k; the last may be shorter)."""
    x, tx, age = (summary.get_column(c).to_numpy() for c in ("frequency", "recency", "T"))
    span = (last - end).days
    edges = np.minimum(np.arange(0, span + 7, 7), span)
    edges = np.unique(edges)
    width = UNIT_DAYS[unit]
    cumulative = np.array([expected_orders(bg, e / width, x, tx, age).sum() for e in edges[1:]])
    predicted = np.diff(np.concatenate([[0.0], cumulative]))
    known = days.join(summary.select(CUSTOMER), on=CUSTOMER, how="semi").filter(pl.col(_DAY) > end)
    offsets = (known.get_column(_DAY) - end).dt.total_days().to_numpy()
    actual = np.histogram(offsets, bins=np.concatenate([[0.5], edges[1:] + 0.5]))[0]
    weeks = [
        {
            "start": (end + dt.timedelta(days=int(lo) + 1)).isoformat(),
            "days": int(hi - lo),
            "predicted": float(p),
            "actual": int(n),
        }
        for lo, hi, p, n in zip(edges[:-1], edges[1:], predicted, actual, strict=True)
    ]
    total_pred, total_actual = float(predicted.sum()), int(actual.sum())
    return {
        "start": (end + dt.timedelta(days=1)).isoformat(),
        "end": last.isoformat(),
        "days": span,
        "predicted": total_pred,
        "actual": total_actual,
        "error_percent": 100 * (total_pred - total_actual) / total_actual if total_actual else None,
        "weeks": weeks,
        "note": "repeat purchase days of the customers who bought on or before the calibration "
        "end; customers new after it are not counted",
    }
