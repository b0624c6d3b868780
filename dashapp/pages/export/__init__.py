"""The Export page (registered by ``dashapp.app`` from ``dashapp.pages.PAGES``): the chosen
segments' customers as CSV, XLSX or Parquet, a reproducible bundle and an HTML report."""

from dashapp.pages.export import callbacks
from dashapp.pages.export import layout as layout_module

PATH = "/export"
NAME = "Export"
ORDER = 7
TITLE = "Export · custseg"
DESCRIPTION = "Download segment customer lists, a reproducible bundle and an HTML report."

# Called on each visit with the URL's query parameters. This name shadows the ``layout``
# submodule as an attribute of the package: import that one's names with
# ``from dashapp.pages.export.layout import ...``.
layout = layout_module.build
register_callbacks = callbacks.register

__all__ = ["DESCRIPTION", "NAME", "ORDER", "PATH", "TITLE", "layout", "register_callbacks"]
