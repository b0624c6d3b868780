"""Helpers shared by the Segments page's tests."""

from __future__ import annotations

from dashapp.shared.modeling import SessionModel


def members(model: SessionModel, segment: int) -> set[str]:
    """Ids of the customers ``model`` put in ``segment``."""
    seg = model.result.segmentation
    return set(seg.customer_ids[seg.labels == segment].tolist())
