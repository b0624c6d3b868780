"""The Explore page (registered by ``dashapp.app`` from ``dashapp.pages.PAGES``)."""

from dashapp.pages.explore.callbacks import (
    DESCRIPTION,
    NAME,
    ORDER,
    PATH,
    TITLE,
    layout,
    register_callbacks,
)

__all__ = ["DESCRIPTION", "NAME", "ORDER", "PATH", "TITLE", "layout", "register_callbacks"]
