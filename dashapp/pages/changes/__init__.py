"""The Changes page: who moved between segments since a cutoff date, and what it is worth
(``core.migration``; registered by ``dashapp.app`` from ``dashapp.pages.PAGES``)."""

from dashapp.pages.changes import callbacks
from dashapp.pages.changes import layout as layout_module

PATH = "/changes"
NAME = "Changes"
ORDER = 6.5  # after Value (6), before Export (7)
TITLE = "Changes · custseg"
DESCRIPTION = "Segments over time: flows between segments since a cutoff date, revenue at risk."

layout = layout_module.build
register_callbacks = callbacks.register

__all__ = ["DESCRIPTION", "NAME", "ORDER", "PATH", "TITLE", "layout", "register_callbacks"]
