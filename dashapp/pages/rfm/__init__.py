"""The RFM page: named RFM segments of a built-in rule set, as a treemap and a table, with the
R x F score grid and the data-sufficiency warnings (registered by ``dashapp.app`` from
``dashapp.pages.PAGES``).

``layout`` is :func:`dashapp.pages.rfm.layout.build`; it shadows the ``layout`` submodule as an
attribute of this package, so import that module's names with
``from dashapp.pages.rfm.layout import ...``.
"""

from __future__ import annotations

from dashapp.pages.rfm import callbacks
from dashapp.pages.rfm.layout import build

PATH = "/rfm"
NAME = "RFM"
ORDER = 2
TITLE = "RFM segments · custseg"
DESCRIPTION = "Named RFM segments (rule sets), treemap, table and sufficiency warnings."

layout = build
register_callbacks = callbacks.register

__all__ = ["DESCRIPTION", "NAME", "ORDER", "PATH", "TITLE", "layout", "register_callbacks"]
