"""What the Compare page computes: a hierarchical tree cut at k next to K-means with the same k.

No Dash here. Settings (features, scaling, linkage, seed) are the session's Model settings
(:func:`dashapp.shared.modeling.settings_of`: defaults until the Model page writes them), so both
segmentations see the same matrix as the session's model.

The tree does not depend on k, so it is fitted once per (data, preprocessing, linkage, seed) and
cached in the app's cache (:func:`tree_fit`); a new k only cuts it (:meth:`TreeFit.labels`), even
for large data, whose tree is built over micro-clusters. K-means results come from the clustering
service, cached per (data, configs, k); the Model page's fit is reused when its settings match.
Comparisons, the selection's members and the grid rows are recomputed per request.
:func:`tree_ready`, :func:`kmeans_ready` and :func:`pending_seconds` tell what is not cached yet
and its estimated cost, so that dear work runs as a background job (:mod:`.work`). Timings are
in bench/README.md (``bench/bench_compare_view.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from core.cache import ResultCache, get_or_compute, make_key
from core.clustering import service
from core.clustering.compare import Comparison, compare
from core.clustering.config import K_MAX, K_MIN, ModelConfig, PreprocessConfig
from core.clustering.fit import Segmentation, canonical_order, fit_segmentation
from core.clustering.hierarchical import (
    HierarchicalTree,
    dendrogram_data,
    node_segments,
)
from core.clustering.result import SegmentationResult
from core.codec import register_dataclass
from core.columns import COUNTRY, CUSTOMER
from core.errors import ConfigError, CustsegError
from core.pipeline import CustomerTable
from core.wording import count
from dashapp.services import AppServices
from dashapp.shared import fit_cost
from dashapp.shared.modeling import SCALER_LABELS, ModelSettings, name_store
from dashapp.shared.modeling import settings_of as model_settings_of
from dashapp.shared.viewkit import InputRejectedError, checked_int
from dashapp.state import SessionState

log = logging.getLogger(__name__)

VIEW = "compare"  # key of this page's settings in the session state (the chosen k)
DENDROGRAM_LEAVES = 30  # lastp truncation: K_MAX clusters stay distinguishable
HEIGHT_STEPS = 400  # steps of the cut-height slider over its range
GRID_ROWS = 2_000  # customers listed in the grid (highest monetary first)
NO_SELECTION = (
    "Click a cell of the contingency table, or a branch or leaf of the dendrogram, to list "
    "its customers here."
)


def h_label(segment: int) -> str:
    """Display name of hierarchical segment ``segment`` (numbered from 1)."""
    return f"H{segment + 1}"


@dataclass(frozen=True)
class CompareSettings:
    """The model settings both segmentations use (k aside)."""

    model: ModelSettings
    from_model_page: bool  # False: the Model page has not stored settings yet (defaults)

    @property
    def preprocess(self) -> PreprocessConfig:
        return self.model.preprocess_config()

    @property
    def linkage(self) -> str:
        return self.model.linkage

    def tree_config(self) -> ModelConfig:
        """Hierarchical config of the tree (k does not change the tree: fixed at K_MIN)."""
        return ModelConfig(
            algorithm="hierarchical",
            k=K_MIN,
            linkage=self.model.linkage,  # type: ignore[arg-type]
            random_state=self.model.seed,
        )

    def kmeans_config(self, k: int) -> ModelConfig:
        """K-means config; equal to the Model page's when it runs K-means with this k."""
        return ModelConfig(
            algorithm="kmeans",
            k=k,
            linkage=self.model.linkage,  # type: ignore[arg-type]
            random_state=self.model.seed,
        )

    def describe(self) -> str:
        """Scaling, log, seed and where they come from (the features are listed apart)."""
        source = "the Model page's settings" if self.from_model_page else "default settings"
        m = self.model
        scaling = SCALER_LABELS.get(m.scaler, m.scaler)
        return f"{scaling} scaling, skewed features logged, seed {m.seed} ({source})."


def compare_settings(state: SessionState) -> CompareSettings:
    """The session's model settings for the comparison (validated; defaults if none)."""
    return CompareSettings(
        model=model_settings_of(state), from_model_page=bool(state.view_settings("model"))
    )


# --- the tree ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TreeFit:
    """A fitted hierarchy of the included customers and what cutting it needs."""

    segmentation: Segmentation  # customers sorted by id; its own labels are not used
    monetary: np.ndarray  # per customer (same order), for canonical segment numbers
    key: str

    @property
    def tree(self) -> HierarchicalTree:
        return self.segmentation.model  # type: ignore[no-any-return]

    @property
    def linkage(self) -> np.ndarray:
        return self.tree.linkage

    @property
    def n_leaves(self) -> int:
        return self.tree.n_leaves

    @property
    def n_customers(self) -> int:
        return self.segmentation.n

    @property
    def two_stage(self) -> bool:
        return self.tree.method == "two_stage"

    @property
    def k_max(self) -> int:
        """Largest k offered: K_MAX, or fewer when the tree has fewer leaves."""
        return max(K_MIN, min(K_MAX, self.n_leaves))

    def labels(self, k: int) -> np.ndarray:
        """Segment of each customer at ``k`` (0 = highest mean monetary, as for every fit)."""
        raw = self.tree.labels(k)
        perm = canonical_order(raw, self.monetary, n_labels=k)
        return perm[raw]

    def leaf_segments(self, k: int) -> np.ndarray:
        """Segment of each tree leaf at ``k`` (customers of a leaf share it)."""
        out = np.full(self.n_leaves, -1, dtype=np.int64)
        out[self.tree.leaf_of] = self.labels(k)
        return out

    def height(self, k: int) -> tuple[float, bool]:
        """Cut height for ``k`` and whether it is exact (see ``HierarchicalTree.cut_height``)."""
        return self.tree.cut_height(k)

    def k_at(self, height: float) -> int:
        """k for a cut at ``height``, kept within K_MIN..k_max."""
        return self.tree.k_at_height(height, k_min=K_MIN, k_max=self.k_max)

    def height_range(self) -> tuple[float, float]:
        """Heights a cut can take to give K_MIN..k_max segments."""
        return self.tree.height_range(self.k_max)

    def node_leaves(self, node: int) -> np.ndarray:
        """Tree leaves under ``node`` (a leaf is its own only leaf)."""
        return self.tree.node_leaves(node)

    def node_customers(self, node: int) -> np.ndarray:
        """Ids of the customers under ``node`` (sorted)."""
        return self.segmentation.customer_ids[self.tree.under(node)]


def _included_monetary(features: pl.DataFrame, ids: np.ndarray) -> np.ndarray:
    frame = (
        features.filter(~pl.col("excluded").fill_null(False))
        .select(CUSTOMER, pl.col("monetary").cast(pl.Float64).fill_null(np.nan))
        .sort(CUSTOMER)
    )
    got = frame.get_column(CUSTOMER).to_numpy().astype(str)
    if not np.array_equal(got, ids):
        raise ConfigError(
            "the customers of the tree do not match the customer table",
            hint="Reload the page; if it persists, reload the data on the Data page.",
        )
    return frame.get_column("monetary").to_numpy()


def tree_key(table: CustomerTable, settings: CompareSettings) -> str:
    """Cache key of the tree for ``settings`` on ``table``."""
    return make_key("compare_tree", table.key, settings.preprocess, settings.tree_config())


def _model_tree(
    table: CustomerTable, settings: CompareSettings, cache: ResultCache | None
) -> Segmentation | None:
    """The Model page's cached hierarchical fit when it holds this tree (k only cuts it)."""
    model = settings.model
    if cache is None or model.algorithm != "hierarchical":
        return None
    hit = cache.get(
        service.segmentation_key(
            table.key, settings.preprocess, model.model_config(), with_lines=True
        )
    )
    if isinstance(hit, SegmentationResult) and hit.segmentation.linkage is not None:
        return hit.segmentation
    return None


def tree_fit(table: CustomerTable, settings: CompareSettings, cache: ResultCache | None) -> TreeFit:
    """The hierarchy for ``settings`` (cached; reuses the Model page's hierarchical fit)."""
    key = tree_key(table, settings)

    def compute() -> TreeFit:
        segmentation = _model_tree(table, settings, cache)
        if segmentation is None:
            segmentation = fit_segmentation(
                table.features, settings.preprocess, settings.tree_config()
            )
        monetary = _included_monetary(table.features, segmentation.customer_ids)
        return TreeFit(segmentation=segmentation, monetary=monetary, key=key)

    fit = get_or_compute(cache, key, compute)
    if not isinstance(fit, TreeFit):  # a foreign value under this key: recompute
        fit = compute()
    return fit


def kmeans_fit(
    table: CustomerTable, settings: CompareSettings, k: int, services: AppServices
) -> SegmentationResult:
    """K-means with ``k`` through the clustering service (cached per data, configs, k).

    The Model page fits with the purchase lines (for top products); its result is reused when
    cached. Otherwise the fit runs without the lines: this page shows no product, and the
    product profiles of 10 million lines cost more than the fit itself.
    """
    model = settings.kmeans_config(k)
    if services.cache is not None:
        with_lines = service.segmentation_key(
            table.key, settings.preprocess, model, with_lines=True
        )
        hit = services.cache.get(with_lines)
        if isinstance(hit, SegmentationResult) and hit.key == with_lines:
            return hit
    return service.segment_customers(
        table.features,
        preprocess=settings.preprocess,
        model=model,
        data_key=table.key,
        cache=services.cache,
    )


def tree_ready(table: CustomerTable, settings: CompareSettings, cache: ResultCache | None) -> bool:
    """Whether the tree needs no fit: cached, or held by the Model page's hierarchical fit."""
    if cache is None:
        return False
    hit = cache.get(tree_key(table, settings))
    return isinstance(hit, TreeFit) or _model_tree(table, settings, cache) is not None


def kmeans_ready(
    table: CustomerTable, settings: CompareSettings, k: int, cache: ResultCache | None
) -> bool:
    """Whether K-means with ``k`` is cached (the Model page's fit or this page's own)."""
    if cache is None:
        return False
    model = settings.kmeans_config(k)
    return any(
        cache.get(service.segmentation_key(table.key, settings.preprocess, model, with_lines=w))
        is not None
        for w in (True, False)
    )


def pending_seconds(
    table: CustomerTable, settings: CompareSettings, k: int, cache: ResultCache | None
) -> float:
    """Estimated CPU-seconds of the tree and of K-means with ``k`` still to fit (0: cached)."""
    customers = table.n_customers - table.n_excluded
    seconds = 0.0
    if not tree_ready(table, settings, cache):
        seconds += fit_cost.tree_seconds(customers=customers, linkage=settings.linkage)
    if not kmeans_ready(table, settings, k, cache):
        seconds += fit_cost.stage_seconds("fit", customers=customers, algorithm="kmeans", k=k)
    return seconds


def session_names(
    result: SegmentationResult, state: SessionState, services: AppServices
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Names and colour indices the session gave this result on the Segments page, if any
    (read only), else the result's own."""
    record = name_store(services).get(state.session_id)
    if (
        record is not None
        and record.dataset == state.dataset
        and record.result_key == result.key
        and len(record.names) == result.k
    ):
        return record.names, record.colors
    return tuple(result.names), tuple(result.colors)


# --- the comparison at k ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CutComparison:
    """Hierarchical segments (a) against K-means segments (b) at one k.

    ``h_colors[i]`` is the palette index of hierarchical segment i: the colour of the K-means
    segment it is matched to (Hungarian matching on shared customers), so one colour means the
    best-matching pair; an unmatched segment gets an index after K-means' own.
    """

    k: int
    tree: TreeFit
    h_labels: np.ndarray
    kmeans: SegmentationResult
    km_names: tuple[str, ...]
    km_colors: tuple[int, ...]
    comparison: Comparison
    h_colors: tuple[int, ...]
    h_match: tuple[int | None, ...]  # matched K-means segment per hierarchical segment

    @property
    def n(self) -> int:
        return self.comparison.n_common

    def h_name(self, segment: int) -> str:
        return h_label(segment)

    def agreement(self) -> float:
        """Share of customers in a matched pair of segments."""
        counts = self.comparison.counts
        a_index = {int(v): i for i, v in enumerate(self.comparison.a_labels)}
        b_index = {int(v): j for j, v in enumerate(self.comparison.b_labels)}
        agreed = sum(
            int(counts[a_index[h], b_index[b]])
            for h, b in enumerate(self.h_match)
            if b is not None and h in a_index and b in b_index
        )
        return agreed / max(self.n, 1)


def match_colors(
    comparison: Comparison, k: int, km_colors: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int | None, ...]]:
    """Colour index and matched K-means segment of each hierarchical segment 0..k-1."""
    matched = comparison.matched()
    used = set(km_colors)
    spare = (c for c in range(len(km_colors) + k + 1) if c not in used)
    colors: list[int] = []
    match: list[int | None] = []
    for h in range(k):
        b = matched.get(h)
        match.append(b)
        colors.append(km_colors[b] if b is not None and 0 <= b < len(km_colors) else next(spare))
    return tuple(colors), tuple(match)


def compare_at(
    table: CustomerTable,
    settings: CompareSettings,
    k: int,
    services: AppServices,
    state: SessionState,
) -> CutComparison:
    """Cut the (cached) tree at ``k``, fit (or fetch) K-means with ``k`` and compare them."""
    tree = tree_fit(table, settings, services.cache)
    if not K_MIN <= k <= tree.k_max:
        raise ConfigError(
            f"k = {k} is out of range for this data ({K_MIN}..{tree.k_max})",
            hint=f"Choose k between {K_MIN} and {tree.k_max}.",
        )
    labels = tree.labels(k)
    kmeans = kmeans_fit(table, settings, k, services)
    names, colors = session_names(kmeans, state, services)
    km = kmeans.segmentation
    comparison = compare(tree.segmentation.customer_ids, labels, km.customer_ids, km.labels)
    h_colors, h_match = match_colors(comparison, k, colors)
    return CutComparison(
        k=k,
        tree=tree,
        h_labels=labels,
        kmeans=kmeans,
        km_names=names,
        km_colors=colors,
        comparison=comparison,
        h_colors=h_colors,
        h_match=h_match,
    )


# --- dendrogram geometry --------------------------------------------------------------------


@dataclass(frozen=True)
class DendrogramLink:
    """One drawn merge: its U-shaped line, node id, customers and segment (-1 = mixed)."""

    xs: tuple[float, float, float, float]
    ys: tuple[float, float, float, float]
    node: int
    customers: int
    segment: int


@dataclass(frozen=True)
class DendrogramLeaf:
    """A drawn leaf (a customer, a micro-cluster or a truncated branch) at height 0."""

    x: float
    node: int
    customers: int
    segment: int


@dataclass(frozen=True)
class DendrogramPlot:
    links: tuple[DendrogramLink, ...]
    leaves: tuple[DendrogramLeaf, ...]
    cut_height: float
    cut_exact: bool
    max_height: float
    two_stage: bool
    n_leaves: int
    n_customers: int


def dendrogram_plot(tree: TreeFit, k: int, *, p: int = DENDROGRAM_LEAVES) -> DendrogramPlot:
    """The lastp-truncated dendrogram (scipy's coordinates) with node ids and segments at k.

    Scipy draws displayed leaves at x = 5, 15, 25, ... and each merge at the mean x of its two
    children, at its merge height; that rule recovers which node each drawn link is.
    """
    z = tree.linkage
    n = tree.n_leaves
    leaf_segments = tree.leaf_segments(k)
    data = dendrogram_data(z, p=p, leaf_sizes=tree.tree.leaf_sizes, leaf_segments=leaf_segments)
    per_node = node_segments(z, leaf_segments)
    sizes = {int(v): int(c) for v, c in zip(data["leaves"], data["customers"], strict=True)}
    x_of = {int(v): 5.0 + 10.0 * i for i, v in enumerate(data["leaves"])}
    shown = min(max(2, p), n)
    customers_of = dict(sizes)
    node_at: dict[tuple[float, float], int] = {}
    for row in range(n - shown, n - 1):
        a, b = int(z[row, 0]), int(z[row, 1])
        node = n + row
        x_of[node] = (x_of[a] + x_of[b]) / 2.0
        customers_of[node] = customers_of[a] + customers_of[b]
        node_at[(round(x_of[node], 6), float(z[row, 2]))] = node
    links = []
    for ic, dc in zip(data["icoord"], data["dcoord"], strict=True):
        key = (round((ic[1] + ic[2]) / 2.0, 6), float(dc[1]))
        node = node_at[key]
        links.append(
            DendrogramLink(
                xs=(ic[0], ic[1], ic[2], ic[3]),
                ys=(dc[0], dc[1], dc[2], dc[3]),
                node=node,
                customers=customers_of[node],
                segment=int(per_node[node]),
            )
        )
    leaves = tuple(
        DendrogramLeaf(x=x_of[v], node=v, customers=sizes[v], segment=int(per_node[v]))
        for v in (int(u) for u in data["leaves"])
    )
    height, exact = tree.height(k)
    return DendrogramPlot(
        links=tuple(links),
        leaves=leaves,
        cut_height=height,
        cut_exact=exact,
        max_height=float(z[-1, 2]),
        two_stage=tree.two_stage,
        n_leaves=n,
        n_customers=tree.n_customers,
    )


# --- the page's controls: identity, k and the cut-height slider ---------------------------------


def view_key(state: SessionState, settings: CompareSettings) -> str:
    """Identity of what the page compares: dataset, mapping, cleaning and model settings."""
    return make_key(
        "compare_view",
        state.dataset,
        state.mapping_overrides(),
        state.date_format,
        dict(state.cleaning),
        settings.model.to_json(),
        versions=False,
    )


def stored_k(state: SessionState, tree: TreeFit, settings: CompareSettings) -> int:
    """The k the session last chose here, else the model's k; kept within the tree's range."""
    for candidate in (state.view_settings(VIEW).get("k"), settings.model.k):
        try:
            return checked_int(candidate, low=K_MIN, high=tree.k_max, name="k")
        except InputRejectedError:
            continue
    return min(4, tree.k_max)


def height_marks(tree: TreeFit) -> dict[float, str]:
    """Marks "k=…" at the cut heights of a few k, skipping marks that would overlap."""
    low, high = tree.height_range()
    span = max(high - low, 1e-12)
    marks: dict[float, str] = {}
    last: float | None = None
    for k in (2, 3, 4, 5, 6, 8, 10, 15, 20, 30):
        if k > tree.k_max:
            break
        height, exact = tree.height(k)
        if not exact or (last is not None and abs(last - height) < 0.07 * span):
            continue
        marks[round(height, 6)] = f"k={k}"
        last = height
    return marks


@dataclass(frozen=True)
class CutSliders:
    """What the k and cut-height sliders show for a tree cut at ``k``."""

    k: int
    k_max: int
    height: float  # the cut height of k (the middle of the band of heights giving k)
    low: float
    high: float
    step: float
    marks: dict[float, str]


def cut_sliders(tree: TreeFit, k: int) -> CutSliders:
    """Slider ranges, marks and values for ``tree`` cut at ``k``."""
    height, _ = tree.height(k)
    low, high = tree.height_range()
    return CutSliders(
        k=k,
        k_max=tree.k_max,
        height=height,
        low=low,
        high=high,
        step=(high - low) / HEIGHT_STEPS,
        marks=height_marks(tree),
    )


@dataclass(frozen=True)
class MethodText:
    """How both segmentations were made, as the page states it (in the user's terms: no
    library or function names)."""

    tree: str
    kmeans: str
    notes: tuple[str, ...]  # e.g. a constant feature that was dropped
    features: tuple[str, ...] = ()  # feature columns both use (the page shows their labels)


LINKAGE_NAMES = {"ward": "Ward", "complete": "complete", "average": "average"}


def tree_text(tree: TreeFit) -> str:
    """What the hierarchy was built from, in words."""
    linkage = LINKAGE_NAMES.get(tree.segmentation.model_config.linkage, "")
    n = tree.n_customers
    if not tree.two_stage:
        return f"Hierarchical: {linkage} linkage of all {count(n, 'customer')}."
    return (
        f"Hierarchical: {linkage} linkage of {count(tree.n_leaves, 'group')} of similar customers "
        f"({count(n, 'customer')} in all); each customer takes its group's segment, and the "
        "dendrogram is drawn over the groups."
    )


def method_text(tree: TreeFit, settings: CompareSettings) -> MethodText:
    """The tree's description, the K-means settings and the fit's warnings."""
    return MethodText(
        tree=tree_text(tree),
        kmeans=f"K-means with the same k. Both: {settings.describe()}",
        notes=tuple(tree.segmentation.warnings),
        features=tuple(settings.model.features),
    )


# --- the selected customers -----------------------------------------------------------------


def selected_ids(
    selection: object, cmp: CutComparison, key: object
) -> tuple[np.ndarray | None, str]:
    """Customer ids of a stored selection and a caption; None when nothing is selected.

    The selection store comes from the browser, so its values are checked here. A selection
    made for other data or settings, or a cell selected at another k, no longer applies and is
    ignored (with a note).
    """
    if not isinstance(selection, dict) or selection.get("key") != key:
        return None, NO_SELECTION
    kind = selection.get("kind")
    try:
        if kind == "cell":
            if selection.get("k") != cmp.k:
                return None, (
                    f"The cell selected at k = {selection.get('k')} does not exist at "
                    f"k = {cmp.k}. " + NO_SELECTION
                )
            h = checked_int(selection.get("h"), low=0, high=cmp.k - 1, name="segment")
            b = checked_int(selection.get("b"), low=0, high=cmp.kmeans.k - 1, name="segment")
            members = cmp.comparison.cell_members(h, b)
            what = f"hierarchical {h_label(h)} and K-means “{cmp.km_names[b]}” (k = {cmp.k})"
            return members, f"{count(members.size, 'customer')} in {what}."
        if kind == "node":
            node = checked_int(
                selection.get("node"), low=0, high=2 * cmp.tree.n_leaves - 2, name="node"
            )
            members = cmp.tree.node_customers(node)
            under = count(members.size, "customer")
            return members, f"{under} under the clicked branch of the tree."
    except (InputRejectedError, CustsegError) as exc:
        log.info("refused stored selection: %s", exc)
        return None, NO_SELECTION
    return None, NO_SELECTION


def grid_rows(
    members: np.ndarray, cmp: CutComparison, features: pl.DataFrame, *, limit: int = GRID_ROWS
) -> list[dict[str, Any]]:
    """Grid rows of ``members``: both segments and R/F/M, highest monetary first."""
    ids_all = cmp.tree.segmentation.customer_ids
    segs = pl.DataFrame(
        {CUSTOMER: ids_all, "hierarchical": [h_label(int(h)) for h in cmp.h_labels]}
    ).filter(pl.col(CUSTOMER).is_in(pl.Series(members.tolist(), dtype=pl.String())))
    km = cmp.kmeans.segmentation
    km_frame = pl.DataFrame(
        {
            CUSTOMER: km.customer_ids,
            "kmeans": [cmp.km_names[int(b)] if b >= 0 else "—" for b in km.labels],
        }
    )
    columns = [CUSTOMER, "recency_days", "frequency", "monetary"]
    if COUNTRY in features.columns:
        columns.append(COUNTRY)
    rows = (
        segs.join(km_frame, on=CUSTOMER, how="left")
        .join(features.select(columns), on=CUSTOMER, how="left")
        .sort(["monetary", CUSTOMER], descending=[True, False], nulls_last=True)
        .head(limit)
    )
    return rows.to_dicts()


@dataclass(frozen=True, eq=False)
class SelectionView:
    """What the selection panel shows: caption, grid rows and which customers to highlight."""

    caption: str
    rows: list[dict[str, Any]]
    highlighted: np.ndarray | None  # mask over the K-means customers; None: no selection


def selection_view(
    selection: object, cmp: CutComparison, key: object, features: pl.DataFrame
) -> SelectionView:
    """The selection's members listed (highest monetary first) and marked for the scatter."""
    members, caption = selected_ids(selection, cmp, key)
    if members is None:
        return SelectionView(caption=caption, rows=[], highlighted=None)
    rows = grid_rows(members, cmp, features)
    if members.size > len(rows):
        caption += f" The grid lists the {len(rows):,} with the highest monetary value."
    mask = np.isin(cmp.kmeans.segmentation.customer_ids, members)
    return SelectionView(caption=caption, rows=rows, highlighted=mask)


# Cached in the app's shared folder as data (core.codec), not pickled.
register_dataclass(TreeFit)
