"""Compare two segmentations of (partly) the same customers.

Typical use: hierarchical vs K-means, or a refit vs the previous model. Only customers present
in both are compared. The result holds the contingency table (a polars DataFrame), the
adjusted Rand index, normalised mutual information, the best one-to-one matching of segments
(Hungarian algorithm on shared customers) and the customer ids of any cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from core.clustering.fit import Segmentation
from core.columns import CUSTOMER
from core.errors import ConfigError, DataSufficiencyError, SchemaError


@dataclass(frozen=True, eq=False)
class Comparison:
    """Result of :func:`compare`.

    Attributes
    ----------
    contingency:
        One row per segment of a: ``segment_a`` then one column ``b_<label>`` per segment of
        b (customers in both), then ``total``. Labels sorted; -1 (noise) included if present.
    counts:
        The same counts as a numpy matrix (len(a_labels) x len(b_labels)).
    a_labels, b_labels:
        Sorted distinct labels of a and b among the shared customers.
    ari, nmi:
        Adjusted Rand index and normalised mutual information on the shared customers.
    matching:
        Best one-to-one matching maximising shared customers: ``segment_a``, ``segment_b``,
        ``customers`` (shared), ``jaccard`` (shared / union); sorted by ``segment_a``. Pairs
        with no shared customer are left out; with different k some segments stay unmatched.
    n_common, n_only_a, n_only_b:
        Customers in both, only in a, only in b.
    """

    contingency: pl.DataFrame
    counts: np.ndarray
    a_labels: np.ndarray
    b_labels: np.ndarray
    ari: float
    nmi: float
    matching: pl.DataFrame
    n_common: int
    n_only_a: int
    n_only_b: int
    common_ids: np.ndarray
    common_a: np.ndarray
    common_b: np.ndarray

    def cell_members(self, a_label: int, b_label: int) -> np.ndarray:
        """Sorted ids of the customers in segment ``a_label`` of a and ``b_label`` of b."""
        for value, labels, name in (
            (a_label, self.a_labels, "a"),
            (b_label, self.b_labels, "b"),
        ):
            if value not in labels:
                raise ConfigError(
                    f"segmentation {name} has no segment {value!r} among the shared customers",
                    hint=f"Segments of {name}: {', '.join(map(str, labels.tolist()))}.",
                )
        mask = (self.common_a == a_label) & (self.common_b == b_label)
        return self.common_ids[mask]

    def matched(self) -> dict[int, int]:
        """Segment of a -> matched segment of b."""
        return dict(
            zip(
                self.matching.get_column("segment_a").to_list(),
                self.matching.get_column("segment_b").to_list(),
                strict=True,
            )
        )


def _as_arrays(ids: object, labels: object, name: str) -> tuple[np.ndarray, np.ndarray]:
    id_arr = np.asarray(ids).astype(str)
    lab = np.asarray(labels)
    if id_arr.ndim != 1 or lab.ndim != 1 or id_arr.shape != lab.shape:
        raise ConfigError(
            f"segmentation {name}: {id_arr.shape[0] if id_arr.ndim else 0} customer ids but "
            f"{lab.shape[0] if lab.ndim else 0} labels",
            hint="Pass one label per customer id.",
        )
    if not np.issubdtype(lab.dtype, np.integer):
        raise ConfigError(
            f"segmentation {name}: labels must be integers, got dtype {lab.dtype}",
            hint="Pass segment numbers (e.g. Segmentation.labels).",
        )
    uniq, counts = np.unique(id_arr, return_counts=True)
    if (counts > 1).any():
        raise SchemaError(
            f"segmentation {name}: customer ids appear more than once: "
            f"{uniq[counts > 1][:5].tolist()}",
            hint="Each customer must have exactly one segment.",
        )
    return id_arr, lab.astype(np.int64)


def compare(
    a_ids: object,
    a_labels: object,
    b_ids: object,
    b_labels: object,
) -> Comparison:
    """Compare two segmentations given as customer ids and labels (any order).

    Raises
    ------
    ConfigError
        Ids and labels of different lengths, or non-integer labels.
    SchemaError
        A customer id repeated within one segmentation.
    DataSufficiencyError
        No customer in common.
    """
    ia, la = _as_arrays(a_ids, a_labels, "a")
    ib, lb = _as_arrays(b_ids, b_labels, "b")
    common, pa, pb = np.intersect1d(ia, ib, assume_unique=True, return_indices=True)
    if common.size == 0:
        raise DataSufficiencyError(
            "the two segmentations have no customer in common",
            hint="Compare segmentations of the same customers.",
        )
    ca, cb = la[pa], lb[pb]
    a_vals, a_idx = np.unique(ca, return_inverse=True)
    b_vals, b_idx = np.unique(cb, return_inverse=True)
    counts = np.zeros((a_vals.size, b_vals.size), dtype=np.int64)
    np.add.at(counts, (a_idx, b_idx), 1)
    contingency = pl.DataFrame(
        {
            "segment_a": a_vals,
            **{f"b_{v}": counts[:, j] for j, v in enumerate(b_vals.tolist())},
            "total": counts.sum(axis=1),
        }
    )
    rows, cols = linear_sum_assignment(counts, maximize=True)
    size_a = counts.sum(axis=1)
    size_b = counts.sum(axis=0)
    pairs = [(r, c) for r, c in zip(rows, cols, strict=True) if counts[r, c] > 0]
    pairs.sort()
    matching = pl.DataFrame(
        {
            "segment_a": [int(a_vals[r]) for r, _ in pairs],
            "segment_b": [int(b_vals[c]) for _, c in pairs],
            "customers": [int(counts[r, c]) for r, c in pairs],
            "jaccard": [
                float(counts[r, c] / (size_a[r] + size_b[c] - counts[r, c])) for r, c in pairs
            ],
        },
        schema={
            "segment_a": pl.Int64(),
            "segment_b": pl.Int64(),
            "customers": pl.Int64(),
            "jaccard": pl.Float64(),
        },
    )
    return Comparison(
        contingency=contingency,
        counts=counts,
        a_labels=a_vals,
        b_labels=b_vals,
        ari=float(adjusted_rand_score(ca, cb)),
        nmi=float(normalized_mutual_info_score(ca, cb)),
        matching=matching,
        n_common=int(common.size),
        n_only_a=int(ia.size - common.size),
        n_only_b=int(ib.size - common.size),
        common_ids=common,
        common_a=ca,
        common_b=cb,
    )


def compare_segmentations(a: Segmentation, b: Segmentation) -> Comparison:
    """:func:`compare` for two fitted segmentations."""
    return compare(a.customer_ids, a.labels, b.customer_ids, b.labels)


def compare_frames(a: pl.DataFrame, b: pl.DataFrame, *, label: str = "segment") -> Comparison:
    """:func:`compare` for two frames with ``customer_id`` and a label column."""
    for name, frame in (("a", a), ("b", b)):
        missing = [c for c in (CUSTOMER, label) if c not in frame.columns]
        if missing:
            raise SchemaError(
                f"frame {name} lacks column(s) {', '.join(map(repr, missing))}",
                hint=f"Pass frames with {CUSTOMER!r} and {label!r}.",
            )
    return compare(
        a.get_column(CUSTOMER).to_numpy(),
        a.get_column(label).to_numpy(),
        b.get_column(CUSTOMER).to_numpy(),
        b.get_column(label).to_numpy(),
    )
