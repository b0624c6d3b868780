"""What the Compare page computes: a hierarchical tree cut at k next to K-means with the same k.

No Dash here. Settings (features, scaling, linkage, seed) are the session's Model settings
(:func:`dashapp.shared.modeling.settings_of`: defaults until the Model page writes them), so both
segmentations see the same matrix as the session's model.

Speed: the tree does not depend on k, so it is fitted once per (data, preprocessing, linkage,
seed) and cached in the app's cache (:func:`tree_fit`); a new k only cuts it
(:meth:`TreeFit.labels`: a few milliseconds even for 100,000 customers, whose tree is built
over 1,000 micro-clusters). K-means results come from the clustering service, cached per
(data, configs, k); the Model page's fit is reused when its settings match.
Comparisons are recomputed per request (about 70 ms at 100,000 customers).
"""

from __future__ import annotations

from dataclasses import dataclass

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
    height_for_k,
    k_for_height,
    node_segments,
)
from core.clustering.result import SegmentationResult
from core.columns import CUSTOMER
from core.errors import ConfigError
from core.pipeline import CustomerTable
from dashapp.services import AppServices
from dashapp.shared.modeling import ModelSettings, name_store
from dashapp.shared.modeling import settings_of as model_settings_of
from dashapp.state import SessionState

DENDROGRAM_LEAVES = 30  # lastp truncation: K_MAX clusters stay distinguishable


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
        source = "the Model page's settings" if self.from_model_page else "default settings"
        m = self.model
        return (
            f"Features {', '.join(m.features)}, {m.scaler} scaling, skewed features logged, "
            f"seed {m.seed} ({source})."
        )


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
        return int(self.linkage.shape[0] + 1)

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
        """Cut height for ``k`` and whether it is exact (False: merges tie at this k, so the
        line is drawn at the tied height and no height gives exactly ``k``)."""
        try:
            return height_for_k(self.linkage, k), True
        except ConfigError:
            n = self.n_leaves
            return float(self.linkage[n - k - 1, 2]), False

    def k_at(self, height: float) -> int:
        """k for a cut at ``height``, kept within K_MIN..k_max."""
        return min(max(k_for_height(self.linkage, height), K_MIN), self.k_max)

    def height_range(self) -> tuple[float, float]:
        """Heights a cut can take to give K_MIN..k_max segments."""
        z = self.linkage
        n = self.n_leaves
        low = float(z[max(n - self.k_max - 1, 0), 2])
        return low, float(z[-1, 2])

    def node_leaves(self, node: int) -> np.ndarray:
        """Tree leaves under ``node`` (a leaf is its own only leaf)."""
        n = self.n_leaves
        if not 0 <= node < 2 * n - 1:
            raise ConfigError(f"the tree has no node {node}", hint="Click a node of the tree.")
        z = self.linkage
        leaves: list[int] = []
        stack = [node]
        while stack:
            v = stack.pop()
            if v < n:
                leaves.append(v)
            else:
                row = z[v - n]
                stack += [int(row[0]), int(row[1])]
        return np.asarray(sorted(leaves), dtype=np.int64)

    def node_customers(self, node: int) -> np.ndarray:
        """Ids of the customers under ``node`` (sorted)."""
        mask = np.isin(self.tree.leaf_of, self.node_leaves(node))
        return self.segmentation.customer_ids[mask]


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


def tree_fit(table: CustomerTable, settings: CompareSettings, cache: ResultCache | None) -> TreeFit:
    """The hierarchy for ``settings`` (cached; reuses the Model page's hierarchical fit)."""
    config = settings.tree_config()
    key = make_key("compare_tree", table.key, settings.preprocess, config)

    def compute() -> TreeFit:
        segmentation = None
        model = settings.model
        if cache is not None and model.algorithm == "hierarchical":
            # The Model page's hierarchical fit holds the same tree (k only cuts it).
            hit = cache.get(
                service.segmentation_key(
                    table.key, settings.preprocess, model.model_config(), with_lines=True
                )
            )
            if isinstance(hit, SegmentationResult) and hit.segmentation.linkage is not None:
                segmentation = hit.segmentation
        if segmentation is None:
            segmentation = fit_segmentation(table.features, settings.preprocess, config)
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
        return f"H{segment + 1}"

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
