"""The Compare page: the hierarchical tree cut at k against K-means with the same k
(registered by ``dashapp.app`` from ``dashapp.pages.PAGES``)."""

from dashapp.pages.compare import callbacks
from dashapp.pages.compare import layout as layout_module

PATH = "/compare"
NAME = "Compare"
ORDER = 5
TITLE = "Compare · custseg"
DESCRIPTION = "Hierarchical tree cut at k against K-means: contingency, Sankey, ARI, NMI."

layout = layout_module.build
register_callbacks = callbacks.register

__all__ = ["DESCRIPTION", "NAME", "ORDER", "PATH", "TITLE", "layout", "register_callbacks"]
