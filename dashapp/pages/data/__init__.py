"""The Data page: load transactions, map columns, check the cleaning audit (registered by
``dashapp.app`` from ``dashapp.pages.PAGES``)."""

from __future__ import annotations

from dash.development.base_component import Component

from dashapp.pages.data import callbacks
from dashapp.pages.data.layout import build
from dashapp.services import get_services

PATH = "/"
NAME = "Data"
ORDER = 0
TITLE = "Data · custseg"
DESCRIPTION = "Load transactions, map columns, check the cleaning audit."


def layout(**query: str) -> Component:
    """The page skeleton, stating this app's upload limit (called on each visit with the URL's
    query parameters).

    This function shadows the ``layout`` submodule as an attribute of the package: import that
    module's names with ``from dashapp.pages.data.layout import ...``.
    """
    return build(get_services().max_upload_bytes, **query)


register_callbacks = callbacks.register

__all__ = ["DESCRIPTION", "NAME", "ORDER", "PATH", "TITLE", "layout", "register_callbacks"]
