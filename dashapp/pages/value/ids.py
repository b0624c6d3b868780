"""Component ids of the Value page (app-wide ids such as ``SESSION`` are in
:mod:`dashapp.shared.ids`). The string values are what browser tests look up."""

from __future__ import annotations

VALUE_NOTE = "value-note"
VALUE_ALERT = "value-alert"
VALUE_CONTROLS = "value-controls"
VALUE_BY_SEGMENT = "value-by-segment"
VALUE_P_ALIVE = "value-p-alive"
VALUE_HOLDOUT = "value-holdout"
VALUE_SLIPPING = "value-slipping"
VALUE_SLIPPING_DOWNLOAD = "value-slipping-download"
VALUE_SLIPPING_BUTTON = "value-slipping-button"
VALUE_DOWNLOAD_ALERT = "value-download-alert"
VALUE_SETTING_TYPE = "value-setting"


def value_setting(name: str) -> dict[str, str]:
    """Id of a Value page control: ``"time_unit"``, ``"horizon"`` or ``"calibration_end"``."""
    return {"type": VALUE_SETTING_TYPE, "name": name}
