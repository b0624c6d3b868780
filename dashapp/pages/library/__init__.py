"""The Library page (registered by ``dashapp.app`` from ``dashapp.pages.PAGES``): the team's
saved segmentations, to search, sort, open, rename and delete."""

from dashapp.pages.library import callbacks
from dashapp.pages.library import layout as layout_module

PATH = "/library"
NAME = "Library"
ORDER = 8
TITLE = "Library · custseg"
DESCRIPTION = "Saved segmentations of the team: open, rename, delete."

layout = layout_module.build
register_callbacks = callbacks.register

__all__ = ["DESCRIPTION", "NAME", "ORDER", "PATH", "TITLE", "layout", "register_callbacks"]
