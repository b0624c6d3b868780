"""Who did what with the data: the signed-in name attached to uploads and exports.

:func:`export_record` is the one place an export is described (who, which dataset, which
segments, how many rows, which format) and logged; whatever keeps a history of exports calls
it and stores the record it returns. The name is :func:`dashapp.auth.signed_in_user` on the
request that exports (None when sign-in is off).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from dashapp.auth import signed_in_user

log = logging.getLogger("custseg.audit")


@dataclass(frozen=True)
class ExportRecord:
    """One export: who made it, of what, and what it held."""

    user: str | None  # the signed-in name; None when the server runs without sign-in
    session: str  # the browser session (a random id)
    dataset: str  # the file name the session gave its data (or the default data's)
    dataset_key: str  # the content key of that data
    segments: tuple[str, ...]  # the segments' names as the session sees them
    rows: int  # customers in the export (every customer for a report)
    format: str  # csv, xlsx, parquet, zip (bundle) or html (report)

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON values."""
        return {**asdict(self), "segments": list(self.segments)}

    def log_line(self) -> str:
        """The server log's line for this export."""
        return (
            f"export by {self.user or '(no sign-in)'}: dataset {self.dataset!r} "
            f"({self.dataset_key[:12]}), segments {', '.join(self.segments) or '(all)'}, "
            f"{self.rows:,} rows, {self.format}, session {self.session[:8]}"
        )


def export_record(
    *,
    session: str,
    dataset: str,
    dataset_key: str,
    segments: Sequence[str],
    rows: int,
    format: str,
) -> ExportRecord:
    """Describe an export made on the current request, with the signed-in name, and log it."""
    record = ExportRecord(
        user=signed_in_user(),
        session=session,
        dataset=dataset,
        dataset_key=dataset_key,
        segments=tuple(segments),
        rows=rows,
        format=format,
    )
    log.info("%s", record.log_line())
    return record


__all__ = ["ExportRecord", "export_record"]
