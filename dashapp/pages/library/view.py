"""What the Library page lists: one row per saved segmentation (pure data, no Dash)."""

from __future__ import annotations

from dataclasses import dataclass

from core.workspace import Saved

SORT_LABELS = {"updated": "Last changed", "name": "Name", "created": "Created"}


@dataclass(frozen=True)
class Row:
    name: str
    note: str
    creator: str
    updated: str
    data: str
    segments: str


def rows(saved: list[Saved]) -> list[Row]:
    """The table's rows, in the order given (the workspace sorts and filters)."""
    return [
        Row(
            name=s.name,
            note=s.note,
            creator=s.creator or "—",
            updated=s.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
            data=s.dataset.source,
            segments=f"{s.k}: {', '.join(s.segment_names)}",
        )
        for s in saved
    ]


def empty_text(search: str) -> str:
    if search.strip():
        return f"No saved segmentation matches {search.strip()!r}."
    return "Nothing saved yet: save a segmentation from the Segments page."
