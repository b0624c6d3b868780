"""The Library page (registered by ``dashapp.app`` from ``dashapp.pages.PAGES``): the team's
saved segmentations, to search, sort, open, rename and delete."""

from typing import Any

from dash.development.base_component import Component

from dashapp.pages.library import callbacks
from dashapp.pages.library import layout as layout_module
from dashapp.services import get_services

PATH = "/library"
NAME = "Library"
ORDER = 8
TITLE = "Library · custseg"
DESCRIPTION = "Saved segmentations of the team: open, rename, delete."



def layout(**query: Any) -> Component:
    """The page skeleton, with this app's upload limit for the file to score."""
    return layout_module.build(get_services().max_upload_bytes, **query)


register_callbacks = callbacks.register

__all__ = ["DESCRIPTION", "NAME", "ORDER", "PATH", "TITLE", "layout", "register_callbacks"]
