"""The Model page's component ids (app-wide ones, such as ``SESSION``, are in
:mod:`dashapp.shared.ids`).

The string values are part of the page's interface: browser tests, the benchmark and links
find the components by them, so they never change when the code moves.
"""

from __future__ import annotations

# The URL kept in step with the session state (see dashapp.shared.urlstate): a store with the
# query the page was opened with, a store with the query string the state describes, and a
# hidden sink for the clientside callback that writes it to the address bar.
MODEL_URL_QUERY = "model-url-query"
MODEL_URL_SEARCH = "model-url-search"
MODEL_URL_SINK = "model-url-sink"

MODEL_ALERT = "model-alert"
MODEL_STATUS = "model-status"
MODEL_FITTING = "model-fitting"  # in the status line: "Fitting…" while a fit runs in the request
MODEL_CONTROLS = "model-controls"
MODEL_SUMMARY = "model-summary"
MODEL_K_TEXT = "model-k-text"
MODEL_K_FIGURE = "model-k-figure"
MODEL_USE_K = "model-use-k"
MODEL_STABILITY = "model-stability"
MODEL_STABILITY_FIGURE = "model-stability-figure"

# The background fit.
MODEL_JOB = "model-job"  # dcc.Store: a fit request for the background job (settings, no data)
MODEL_JOB_DONE = "model-job-done"  # dcc.Store: what the job computed (cache keys only)
MODEL_PROGRESS_WRAP = "model-progress-wrap"
MODEL_PROGRESS = "model-progress"
MODEL_PROGRESS_TEXT = "model-progress-text"
MODEL_CANCEL = "model-cancel"
MODEL_RETRY = "model-retry"  # shown when a background fit was lost with its process
MODEL_RETRY_WRAP = "model-retry-wrap"

# The settings form is rendered from the session state with pattern-matching ids (matched with
# ALL), so the skeleton holds no control whose default could be mistaken for a user's choice.
MODEL_SETTING_TYPE = "model-setting"


def model_setting(name: str) -> dict[str, str]:
    """Id of a settings control: ``features``, ``scaler``, ``algorithm``, ``linkage``, ``k`` or
    ``seed``."""
    return {"type": MODEL_SETTING_TYPE, "name": name}
