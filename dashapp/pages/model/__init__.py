"""The Model page: features, scaling, algorithm, k and seed; the choose-k panel; stability.

Registered by ``dashapp.app`` from ``dashapp.pages.PAGES``; the package layout is described in
:mod:`dashapp.pages`.
"""

from dashapp.pages.model import callbacks
from dashapp.pages.model import layout as layout_module

PATH = "/model"
NAME = "Model"
ORDER = 3
TITLE = "Model · custseg"
DESCRIPTION = "Choose features, scaling, algorithm and k; compare every k criterion; stability."

# Called on each visit with the URL's query parameters. This name shadows the ``layout``
# submodule as an attribute of the package: import that module's names with
# ``from dashapp.pages.model.layout import ...``.
layout = layout_module.build
register_callbacks = callbacks.register

__all__ = ["DESCRIPTION", "NAME", "ORDER", "PATH", "TITLE", "layout", "register_callbacks"]
