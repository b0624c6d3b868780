"""What the pages' list downloads share: each format's media type (one table for every page),
the download itself, and the alert of an export that was refused.

A download callback checks its inputs and builds its file through ``core.export``; a refusal is
an alert and nothing is sent (:func:`refused`).
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc

from core.errors import CustsegError
from core.export import Format
from dashapp.shared import components
from dashapp.shared.viewkit import InputRejectedError, input_alert

# Media types of core.export.FORMATS (the browser names and opens the file by them).
MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
NOTHING_EXPORTED = "Nothing was exported"


def send(content: bytes, filename: str, fmt: Format) -> dict[str, Any]:
    """The ``dcc.Download`` data of a list file in ``fmt``."""
    return dcc.send_bytes(content, filename, type=MEDIA_TYPES[fmt])


def refused(error: CustsegError) -> dbc.Alert:
    """The alert of an export that was refused: a value no control sends (only a hand-made
    request does), or what the data or the workspace said was wrong."""
    if isinstance(error, InputRejectedError):
        return input_alert(error)
    return components.error_alert(error, title=NOTHING_EXPORTED)


__all__ = ["MEDIA_TYPES", "NOTHING_EXPORTED", "refused", "send"]
