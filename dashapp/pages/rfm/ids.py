"""Component ids of the RFM page (app-wide ids such as ``SESSION`` are in
:mod:`dashapp.shared.ids`).

The string values are what the browser sees: browser tests and saved URLs rely on them. The
controls are rendered from the session state, so they use pattern-matching ids (as on the Data
page) and always show the stored choice.
"""

from __future__ import annotations

RFM_NOTE = "rfm-note"
RFM_ALERT = "rfm-alert"
RFM_CONTROLS = "rfm-controls"
RFM_WARNINGS = "rfm-warnings"
RFM_TREEMAP = "rfm-treemap"
RFM_TABLE = "rfm-table"
RFM_SEGMENT_TABLE = "rfm-segment-table"
RFM_GRID = "rfm-grid"
RFM_GRID_NOTE = "rfm-grid-note"
RFM_RANGES = "rfm-score-ranges"
RFM_SETTING_TYPE = "rfm-setting"


def rfm_setting(name: str) -> dict[str, str]:
    """Id of an RFM page control: ``"ruleset"``, ``"bins"`` or ``"color"``."""
    return {"type": RFM_SETTING_TYPE, "name": name}
