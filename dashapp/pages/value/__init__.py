"""The Value page: predicted customer value (BG/NBD + Gamma-Gamma, :mod:`core.clv`): predicted
revenue by segment, the p_alive distribution, the valuable customers who are slipping away (a
list to download) and the holdout check (registered by ``dashapp.app`` from
``dashapp.pages.PAGES``).

``layout`` is :func:`dashapp.pages.value.layout.build`; it shadows the ``layout`` submodule as
an attribute of this package.
"""

from __future__ import annotations

from dashapp.pages.value import callbacks
from dashapp.pages.value.layout import build

PATH = "/value"
NAME = "Value"
ORDER = 6
TITLE = "Value · predicted customer value · custseg"
DESCRIPTION = "Who is still a customer and what each will buy: predicted revenue by segment."

layout = build
register_callbacks = callbacks.register

__all__ = ["DESCRIPTION", "NAME", "ORDER", "PATH", "TITLE", "layout", "register_callbacks"]
