"""The Explore page: what the customers look like before any model.

Feature distributions (log axes where skewed), Spearman correlations, the R x F score grid
coloured by mean monetary, revenue and orders per month, the top countries and summary
statistics. Registered by ``dashapp.app`` from ``dashapp.pages.PAGES``.
"""

from __future__ import annotations

from dashapp.pages.explore import callbacks
from dashapp.pages.explore import layout as layout_module

PATH = "/explore"
NAME = "Explore"
ORDER = 1
TITLE = "Explore · custseg"
DESCRIPTION = "Distributions, correlations, R x F grid, activity over time, countries."

# Called on each visit with the URL's query parameters. This name shadows the ``layout``
# submodule as an attribute of the package: import that one as
# ``from dashapp.pages.explore.layout import ...``.
layout = layout_module.build
register_callbacks = callbacks.register

__all__ = ["DESCRIPTION", "NAME", "ORDER", "PATH", "TITLE", "layout", "register_callbacks"]
