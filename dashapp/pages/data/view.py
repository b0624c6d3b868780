"""What the Data page accepts and shows, without Dash: uploads, refused files, control values.

What the page displays for a session (columns, mapping, date format, cleaning audit, warnings)
is :class:`dashapp.shared.loading.DataView`, computed by
:func:`dashapp.shared.loading.data_view`; it is shared because every other page loads its
customer table through the same pipeline. This module holds the rest of the page's logic:

- :func:`save_upload` checks an uploaded file and keeps it in the app's upload store;
- :func:`rejected_file_error` explains a file the browser refused as too large;
- :func:`control_changes` turns the values of the page's controls into session-state changes;
- :func:`detected_roles` is what role detection finds in the session's dataset (the mapping
  :func:`control_changes` compares with);
- :func:`problem_title` names what went wrong when a view carries an error;
- :func:`negative_amount_note` explains a rule whose dropped lines sum to a negative amount.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.cleaning import REASON_LABELS, Audit
from core.errors import CustsegError, InputFileError
from core.io import read_table
from core.schema import detect_roles
from dashapp.shared.loading import peek_source
from dashapp.state import (
    TOGGLEABLE_RULES,
    SessionState,
    StateError,
    clean_text,
    parse_cleaning,
    parse_mapping,
)
from dashapp.uploads import decode_upload, display_name

if TYPE_CHECKING:
    from dashapp.services import AppServices
    from dashapp.shared.loading import DataView

TOO_LARGE_HINT = (
    "Export fewer columns or a shorter period, or save the data as Parquet, "
    "which is much smaller than CSV."
)


@dataclass(frozen=True)
class UploadedFile:
    """A file stored for a session: what the success message reports about it."""

    key: str  # the upload store's content key (the session's new dataset key)
    filename: str
    size: int  # bytes
    format: str  # "csv", "xlsx" or "parquet"
    columns: int


def save_upload(
    contents: object,
    filename: object,
    services: AppServices,
    session_id: str,
    *,
    current: str | None = None,
) -> UploadedFile:
    """Decode an upload, check that it can be read and keep it as ``session_id``'s upload.

    This is the page's one function with a side effect: it writes the file to the store (the
    workers of a deployment share it). A file that cannot be read is not kept for the session;
    the session's earlier uploads other than ``current`` (its dataset on screen) may be
    forgotten to keep it within its allowance (see :meth:`dashapp.uploads.UploadStore.adding`).

    Raises
    ------
    CustsegError
        Not a file, over the size limit, not readable as a table (first rows parsed here, so
        parse errors are reported now rather than later on the page), or no room to store it.
    """
    name = display_name(filename)
    raw = decode_upload(contents, max_bytes=services.max_upload_bytes, filename=name)
    with services.uploads.adding(raw, name, session_id, current=current) as stored:
        del raw  # the decoded copy is no longer needed while the file is read back
        frame, read = read_table(stored.path, filename=stored.filename)
        frame.head(5).collect()
    return UploadedFile(
        key=stored.key,
        filename=stored.filename,
        size=stored.size,
        format=read.format,
        columns=len(read.columns),
    )


def rejected_file_error(rejected: object, max_bytes: int) -> InputFileError | None:
    """The error for a file the browser refused as too large (``assets/upload_guard.js``).

    ``rejected`` is what the script writes: ``{"name", "size", "at"}``. Returns None when it
    is not such a report (nothing to explain).
    """
    if not isinstance(rejected, dict):
        return None
    name = display_name(rejected.get("name"))
    size = rejected.get("size")
    if not isinstance(size, int | float) or size < 0:
        return None
    return InputFileError(
        f"{name!r} is {size / 1024**2:,.1f} MB; this server accepts files up to "
        f"{max_bytes / 1024**2:,.0f} MB.",
        hint=TOO_LARGE_HINT,
    )


def control_changes(
    state: SessionState,
    role_values: Sequence[object],
    date_values: Sequence[object],
    cleaning_values: Sequence[object],
    role_ids: Sequence[object],
    *,
    detect: Callable[[], Mapping[str, str] | None],
) -> dict[str, Any]:
    """The session-state fields the page's controls set (for ``SessionState.evolve``).

    Each value list comes from a pattern-matching input: empty while its control is not
    rendered, in which case the state keeps its value. A mapping equal to what detection
    finds (``detect()``, called only when the mapping dropdowns are rendered) stays "detect"
    (None), so re-rendered controls never freeze the detected mapping.

    Raises
    ------
    StateError
        The values do not have the shape the rendered controls send (a tampered request).
    """
    if not all(isinstance(v, list | tuple) for v in (role_values, date_values, role_ids)):
        raise StateError("control values must be lists")
    if not isinstance(cleaning_values, list | tuple) or len(cleaning_values) > 1:
        raise StateError("one cleaning checklist expected")
    if len(role_ids) != len(role_values) or len(date_values) > 1:
        raise StateError("controls do not match their values")
    changes: dict[str, Any] = {}
    if role_ids:
        roles = [rid.get("role") if isinstance(rid, dict) else None for rid in role_ids]
        if not all(isinstance(role, str) for role in roles):
            raise StateError("role control ids must name a role")
        mapping = parse_mapping(dict(zip(roles, role_values, strict=True))) or {}
        chosen = {role: column for role, column in mapping.items() if column}
        detected = detect()
        keep_detect = state.mapping is None and detected is not None and chosen == detected
        changes["mapping"] = None if keep_detect or not mapping else mapping
    if date_values:
        changes["date_format"] = clean_text(date_values[0], "date format")
    if cleaning_values:
        rules = cleaning_values[0] or []
        if not isinstance(rules, list) or not all(rule in TOGGLEABLE_RULES for rule in rules):
            raise StateError(f"unknown cleaning rules in {rules!r}")
        changes["cleaning"] = parse_cleaning({rule: rule in rules for rule in TOGGLEABLE_RULES})
    return changes


def detected_roles(state: SessionState, services: AppServices) -> dict[str, str] | None:
    """What role detection finds in the session's dataset (None if it cannot be read)."""
    source = services.source(state.dataset, state.session_id)
    if source is None:
        return None
    try:
        peek = peek_source(source, services)
    except CustsegError:
        return None
    return detect_roles(peek.read.columns, require=False).as_dict()


def problem_title(view: DataView) -> str:
    """Heading of the error shown under the mapping: the file or only its mapping is wrong."""
    return "This mapping does not work yet" if view.columns else "This file could not be used"


def negative_amount_note(audit: Audit) -> str | None:
    """Why an "amount dropped" is negative, naming the rules where it is (None: no such rule).

    A rule's amount is the sum of the lines it removed; lines with negative amounts (discounts,
    refunds, credited fees, cancellations) make it negative, and removing them raises the kept
    total rather than lowering it.
    """
    negative = [
        REASON_LABELS.get(stat.reason, stat.reason)
        for stat in audit.reasons
        if stat.rows and stat.revenue < 0
    ]
    if not negative:
        return None
    rules = "; ".join(f"“{name}”" for name in negative)
    return (
        f"A negative amount dropped ({rules}) means the lines that rule removed sum to less than "
        "zero: lines with negative amounts, such as discounts, refunds, credited fees or "
        "cancelled orders. Removing them raises the kept total instead of lowering it."
    )
