"""Component ids of the Compare page (app-wide ones, such as the session store, are in
:mod:`dashapp.shared.ids`). Browser tests and saved URLs rely on these strings: keep them."""

from __future__ import annotations

# The k and cut-height sliders drive each other (one callback); the stores hold the identity
# of the data + settings compared and the user's selection (keys, never frames).
COMPARE_K = "compare-k"
COMPARE_HEIGHT = "compare-height"
COMPARE_KEY = "compare-key"
COMPARE_SELECTION = "compare-selection"
COMPARE_ALERT = "compare-alert"
COMPARE_METHOD = "compare-method"
COMPARE_DENDROGRAM = "compare-dendrogram"
COMPARE_SIZES = "compare-sizes"
COMPARE_METRICS = "compare-metrics"
COMPARE_CONTINGENCY = "compare-contingency"
COMPARE_SANKEY = "compare-sankey"
COMPARE_CLEAR = "compare-clear"
COMPARE_SELECTION_CAPTION = "compare-selection-caption"
COMPARE_GRID = "compare-grid"
COMPARE_SCATTER = "compare-scatter"

# The metric tiles the render callback builds inside COMPARE_METRICS (unprefixed, as they were).
COMPARE_ARI = "ari"
COMPARE_NMI = "nmi"
COMPARE_AGREEMENT = "agreement"

# The background job (as on the Model page): its request and answer (keys, never frames), the
# status line, the progress card with Cancel, and Retry after a lost or refused job.
COMPARE_JOB = "compare-job"
COMPARE_JOB_DONE = "compare-job-done"
COMPARE_STATUS = "compare-status"
COMPARE_PROGRESS_WRAP = "compare-progress-wrap"
COMPARE_PROGRESS = "compare-progress"
COMPARE_PROGRESS_TEXT = "compare-progress-text"
COMPARE_CANCEL = "compare-cancel"
COMPARE_RETRY = "compare-retry"
COMPARE_RETRY_WRAP = "compare-retry-wrap"
