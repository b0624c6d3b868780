"""The Segments page: linked charts of the session's segmentation, a card per segment with its
editable name, the customers of the selection and their orders (registered by ``dashapp.app``
from ``dashapp.pages.PAGES``)."""

from dashapp.pages.segments import callbacks
from dashapp.pages.segments import layout as layout_module

PATH = "/segments"
NAME = "Segments"
ORDER = 4
TITLE = "Segments · custseg"
DESCRIPTION = "Segment charts, cards with names and actions, customers and their orders."

# Called on each visit with the URL's query parameters. This name shadows the ``layout``
# submodule as an attribute of the package: import that module's names with
# ``from dashapp.pages.segments.layout import ...``.
layout = layout_module.build
register_callbacks = callbacks.register

__all__ = ["DESCRIPTION", "NAME", "ORDER", "PATH", "TITLE", "layout", "register_callbacks"]
