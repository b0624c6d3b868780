"""What the Explore page shows, computed from a customer table: no Dash, no Plotly here.

Every figure describes the *included* customers (``excluded == False``): the customers that are
scored and clustered. Excluded customers are counted in :attr:`ExploreData.excluded` with their
reasons so the page can say they are left out. Revenue and orders over time are the business's
figures and come from every kept purchase line (excluded customers' lines included).

:func:`explore_data` computes everything once per customer table; the page caches the result
under the table's content key. The functions at the end turn it into the texts the page shows
(summary cells, notes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy.stats import rankdata, skew

from core.codec import register_dataclass
from core.columns import AMOUNT, COUNTRY, CUSTOMER, DATE, INVOICE, NUMERIC_FEATURES
from core.pipeline import CustomerTable
from core.rfm import score_rfm

# A feature whose skewness exceeds this gets a log axis (same threshold as the clustering's
# automatic log transform, core.clustering.preprocess.AUTO_LOG_SKEW).
LOG_SKEW = 1.0
HISTOGRAM_BINS = 40
TOP_COUNTRIES = 10
UNKNOWN_COUNTRY = "(unknown)"
OTHER_COUNTRIES = "Other countries"

FEATURE_LABELS: dict[str, str] = {
    "recency_days": "Recency (days)",
    "tenure_days": "Tenure (days)",
    "frequency": "Orders",
    "gross": "Gross spend",
    "returns_value": "Returns value",
    "monetary": "Net spend (monetary)",
    "avg_order_value": "Average order value",
    "n_products": "Distinct products",
    "avg_days_between_orders": "Days between orders",
    "return_rate": "Return rate",
}


def feature_label(name: str) -> str:
    """Readable name of a feature column."""
    return FEATURE_LABELS.get(name, name)


@dataclass(frozen=True)
class Histogram:
    """Counts of one feature over bin edges (``counts[i]`` in ``[edges[i], edges[i+1])``).

    With ``log`` the edges are geometric over the positive values and ``n_nonpositive`` counts
    the customers at zero or below, which a log axis cannot show. ``n_missing`` counts nulls
    (e.g. days between orders of one-order customers). ``constant``: every value is the same
    (returns all zero in a file without returns), so there is no distribution to draw.
    """

    feature: str
    edges: tuple[float, ...]
    counts: tuple[int, ...]
    log: bool
    skewness: float | None
    n_values: int
    n_nonpositive: int
    n_missing: int
    constant: bool = False


@dataclass(frozen=True)
class ExploreData:
    """Everything the Explore page draws for one customer table."""

    customers: int  # included customers
    excluded: tuple[tuple[str, int], ...]  # (reason, customers), most frequent first
    features: tuple[str, ...]  # numeric features with at least one value
    histograms: tuple[Histogram, ...]
    correlation: tuple[tuple[float | None, ...], ...]  # Spearman, features x features
    rf_grid: pl.DataFrame = field(compare=False, repr=False)
    monthly: pl.DataFrame | None = field(compare=False, repr=False)
    countries: pl.DataFrame | None = field(compare=False, repr=False)
    summary: pl.DataFrame = field(compare=False, repr=False)
    last_date: dt.date | None = None  # last purchase line's date (the last month may be partial)

    @property
    def n_excluded(self) -> int:
        return sum(n for _, n in self.excluded)


def included(features: pl.DataFrame) -> pl.DataFrame:
    """The customers that are scored and clustered (``excluded`` false or null)."""
    return features.filter(~pl.col("excluded").fill_null(False))


def exclusion_counts(features: pl.DataFrame) -> tuple[tuple[str, int], ...]:
    """(reason, customers) of the excluded customers, most frequent first, then by reason."""
    counts = (
        features.filter(pl.col("excluded").fill_null(False))
        .group_by(pl.col("exclusion_reason").fill_null("excluded"))
        .agg(pl.len().alias("n"))
        .sort(["n", "exclusion_reason"], descending=[True, False])
    )
    return tuple((str(r), int(n)) for r, n in counts.iter_rows())


def available_features(frame: pl.DataFrame) -> tuple[str, ...]:
    """Numeric features present in ``frame`` with at least one non-null value, in schema order."""
    return tuple(
        f
        for f in NUMERIC_FEATURES
        if f in frame.columns and frame.get_column(f).null_count() < frame.height
    )


def _finite(values: pl.Series) -> np.ndarray:
    arr = values.cast(pl.Float64).drop_nulls().to_numpy()
    return arr[np.isfinite(arr)]


def skewness(values: np.ndarray) -> float | None:
    """Sample skewness (biased, as scipy's default), or None for fewer than 3 or equal values."""
    if values.size < 3 or np.all(values == values[0]):
        return None
    return float(skew(values, bias=True))


def histogram(feature: str, values: pl.Series, *, bins: int = HISTOGRAM_BINS) -> Histogram:
    """Histogram of one feature; geometric bins (for a log axis) when it is skewed.

    A feature is drawn on a log axis when its skewness exceeds :data:`LOG_SKEW` and it has
    positive values; values at or below zero are then counted apart. Integer features get
    integer-aligned edges so no bin falls between two whole numbers.
    """
    n_missing = int(values.null_count())
    arr = _finite(values)
    n_missing += int(values.len() - values.null_count() - arr.size)
    sk = skewness(arr)
    integer = values.dtype.is_integer()
    positive = arr[arr > 0]
    log = sk is not None and sk > LOG_SKEW and positive.size > 0 and positive.min() < positive.max()
    if arr.size == 0:
        return Histogram(feature, (0.0, 1.0), (0,), False, None, 0, 0, n_missing)
    if log:
        low, high = float(positive.min()), float(positive.max())
        edges = np.geomspace(low, high, bins + 1)
        if integer:
            edges = np.unique(np.round(edges))
        shown = positive
    else:
        low, high = float(arr.min()), float(arr.max())
        if low == high:
            edges = np.array([low - 0.5, high + 0.5])
        elif integer and high - low + 1 <= bins:
            edges = np.arange(low, high + 2) - 0.5  # one bin per whole number
        else:
            edges = np.linspace(low, high, bins + 1)
        shown = arr
    # Bins are [e_i, e_i+1), the last one closed (np.histogram's convention).
    counts, edges = np.histogram(shown, bins=edges)
    return Histogram(
        feature=feature,
        edges=tuple(float(e) for e in edges),
        counts=tuple(int(c) for c in counts),
        log=bool(log),
        skewness=sk,
        n_values=int(shown.size),
        n_nonpositive=int(arr.size - positive.size) if log else 0,
        n_missing=n_missing,
        constant=bool(low == high),
    )


def spearman(frame: pl.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """Spearman rank correlation of every pair of ``columns``, pairwise-complete.

    Each pair uses the rows where both values are finite (ties share their average rank);
    a pair with fewer than 3 such rows, or a constant side, is NaN. The diagonal is 1 for a
    column that varies.
    """
    data = [frame.get_column(c).cast(pl.Float64).fill_null(np.nan).to_numpy() for c in columns]
    m = len(columns)
    out = np.full((m, m), np.nan)
    for i in range(m):
        for j in range(i, m):
            ok = np.isfinite(data[i]) & np.isfinite(data[j])
            if ok.sum() < 3:
                continue
            a, b = rankdata(data[i][ok]), rankdata(data[j][ok])
            if np.all(a == a[0]) or np.all(b == b[0]):
                continue
            out[i, j] = out[j, i] = float(np.corrcoef(a, b)[0, 1])
    return out


def rf_grid(features: pl.DataFrame, *, bins: int = 5) -> pl.DataFrame:
    """Customers and mean monetary per (R score, F score) cell of the included customers.

    One row per cell of the ``bins`` x ``bins`` grid, every cell present (empty ones with 0
    customers and a null mean): ``r_score``, ``f_score``, ``customers``, ``mean_monetary``,
    ``revenue`` (sum of monetary).
    """
    scored = score_rfm(features, bins=bins).filter(pl.col("r_score").is_not_null())
    cells = scored.group_by("r_score", "f_score").agg(
        pl.len().alias("customers"),
        pl.col("monetary").mean().alias("mean_monetary"),
        pl.col("monetary").sum().alias("revenue"),
    )
    scores = pl.DataFrame({"r_score": list(range(1, bins + 1))}, schema={"r_score": pl.Int64()})
    full = scores.join(scores.rename({"r_score": "f_score"}), how="cross")
    return (
        full.join(cells, on=["r_score", "f_score"], how="left")
        .with_columns(pl.col("customers").fill_null(0).cast(pl.Int64))
        .sort("r_score", "f_score")
    )


def monthly_activity(purchases: pl.DataFrame) -> pl.DataFrame:
    """Revenue, orders and active customers per calendar month of the kept purchase lines.

    An order is an invoice, or a customer x timestamp when there is no invoice role (as in
    ``core.features``). Columns ``month`` (Date, first day), ``revenue``, ``orders``,
    ``customers``; sorted by month, months without any line included with zeros.
    """
    order_id = pl.struct(
        pl.col(CUSTOMER),
        pl.coalesce(pl.col(INVOICE), pl.col(DATE).dt.to_string("%Y-%m-%dT%H:%M:%S")),
    )
    monthly = (
        purchases.lazy()
        .filter(pl.col(DATE).is_not_null())
        .group_by(pl.col(DATE).dt.truncate("1mo").dt.date().alias("month"))
        .agg(
            pl.col(AMOUNT).sum().alias("revenue"),
            order_id.n_unique().alias("orders"),
            pl.col(CUSTOMER).n_unique().alias("customers"),
        )
        .sort("month")
        .collect()
    )
    if monthly.height == 0:
        return monthly
    months = pl.date_range(
        monthly.get_column("month").min(), monthly.get_column("month").max(), "1mo", eager=True
    ).alias("month")
    return (
        months.to_frame()
        .join(monthly, on="month", how="left")
        .with_columns(
            pl.col("revenue").fill_null(0.0),
            pl.col("orders").fill_null(0).cast(pl.Int64),
            pl.col("customers").fill_null(0).cast(pl.Int64),
        )
    )


def country_table(features: pl.DataFrame, *, top: int = TOP_COUNTRIES) -> pl.DataFrame:
    """Customers and revenue (net monetary) per country of the included customers.

    The ``top`` countries by customers (ties: revenue, then name), then one row
    :data:`OTHER_COUNTRIES` for the rest when there are more. Columns ``country``,
    ``customers``, ``revenue``, ``customer_share``, ``revenue_share``.
    """
    per = (
        features.group_by(pl.col(COUNTRY).fill_null(UNKNOWN_COUNTRY))
        .agg(pl.len().alias("customers"), pl.col("monetary").sum().alias("revenue"))
        .sort(["customers", "revenue", COUNTRY], descending=[True, True, False])
    )
    if per.height > top:
        rest = per.slice(top)
        other = pl.DataFrame(
            {
                COUNTRY: [f"{OTHER_COUNTRIES} ({rest.height})"],
                "customers": [int(rest.get_column("customers").sum())],
                "revenue": [float(rest.get_column("revenue").sum())],
            },
            schema=per.schema,
        )
        per = pl.concat([per.head(top), other])
    total_customers = max(int(features.height), 1)
    total_revenue = float(features.get_column("monetary").sum()) if features.height else 0.0
    return per.with_columns(
        (pl.col("customers") / total_customers).alias("customer_share"),
        (pl.col("revenue") / total_revenue if total_revenue else pl.lit(None, pl.Float64)).alias(
            "revenue_share"
        ),
    )


def summary_statistics(features: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """One row per feature: ``feature``, ``count``, ``missing``, ``mean``, ``std``, ``min``,
    ``p25``, ``median``, ``p75``, ``max``, ``skewness`` (over the finite values)."""
    rows = []
    for name in columns:
        series = features.get_column(name)
        arr = _finite(series)
        has = arr.size > 0
        rows.append(
            {
                "feature": name,
                "count": int(arr.size),
                "missing": int(series.len() - arr.size),
                "mean": float(arr.mean()) if has else None,
                "std": float(arr.std(ddof=1)) if arr.size > 1 else None,
                "min": float(arr.min()) if has else None,
                "p25": float(np.quantile(arr, 0.25)) if has else None,
                "median": float(np.median(arr)) if has else None,
                "p75": float(np.quantile(arr, 0.75)) if has else None,
                "max": float(arr.max()) if has else None,
                "skewness": skewness(arr),
            }
        )
    schema = {"feature": pl.String(), "count": pl.Int64(), "missing": pl.Int64()} | {
        c: pl.Float64() for c in ("mean", "std", "min", "p25", "median", "p75", "max", "skewness")
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def explore_data(table: CustomerTable) -> ExploreData:
    """Compute every Explore figure's data for ``table``."""
    features = table.features
    kept = included(features)
    columns = available_features(kept)
    corr = spearman(kept, columns)
    purchases = table.purchases
    monthly = monthly_activity(purchases) if purchases is not None else None
    last = None
    if purchases is not None and purchases.height:
        latest = purchases.get_column(DATE).max()
        last = latest.date() if isinstance(latest, dt.datetime) else None
    # Without a country role the column is null throughout: no chart rather than one bar.
    has_countries = COUNTRY in kept.columns and kept.get_column(COUNTRY).null_count() < kept.height
    return ExploreData(
        customers=kept.height,
        excluded=exclusion_counts(features),
        features=columns,
        histograms=tuple(histogram(c, kept.get_column(c)) for c in columns),
        correlation=tuple(tuple(None if np.isnan(v) else float(v) for v in row) for row in corr),
        rf_grid=rf_grid(features),
        monthly=monthly,
        countries=country_table(kept) if has_countries else None,
        summary=summary_statistics(kept, columns),
        last_date=last,
    )


# --- texts the page shows -------------------------------------------------------------------

# Summary statistics shown, in column order: (key in summary_statistics' frame, header).
STAT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("count", "Customers"),
    ("missing", "No value"),
    ("mean", "Mean"),
    ("std", "Std"),
    ("min", "Min"),
    ("p25", "25 %"),
    ("median", "Median"),
    ("p75", "75 %"),
    ("max", "Max"),
    ("skewness", "Skew"),
)


def format_number(value: float | None) -> str:
    """A statistic as shown: thousands without decimals, whole numbers bare, else 2-3 digits."""
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"


def summary_rows(summary: pl.DataFrame) -> list[tuple[str, tuple[str, ...]]]:
    """(feature label, cell texts in :data:`STAT_COLUMNS` order) per row of ``summary``."""
    rows = []
    for row in summary.iter_rows(named=True):
        cells = tuple(
            f"{row[key]:,}" if key in ("count", "missing") else format_number(row[key])
            for key, _ in STAT_COLUMNS
        )
        rows.append((feature_label(row["feature"]), cells))
    return rows


def exclusion_text(data: ExploreData) -> str:
    """The excluded customers per reason, e.g. ``"3 net monetary <= 0; 1 no purchase"``."""
    return "; ".join(f"{n:,} {reason}" for reason, n in data.excluded)


def activity_note(data: ExploreData) -> str:
    """What the monthly chart counts, and a partial last month."""
    text = (
        "All kept purchase lines (excluded customers' lines too): revenue = quantity x price, "
        "orders = distinct invoices."
    )
    if data.last_date is not None:
        text += f" Data ends on {data.last_date.isoformat()}, so the last month may be partial."
    return text


# Cached in the app's shared folder as data (core.codec), not pickled.
register_dataclass(Histogram)
register_dataclass(ExploreData)
