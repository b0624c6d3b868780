"""The app's pages, in navbar order: one package per page.

A page package ``dashapp/pages/<page>/`` holds:

- ``__init__.py``: ``PATH``, ``NAME``, ``ORDER``, ``TITLE``, ``DESCRIPTION``, ``layout`` (called on
  each visit with the URL's query parameters) and ``register_callbacks(app)``;
- ``ids.py``: the page's component ids (app-wide ones are in :mod:`dashapp.shared.ids`);
- ``layout.py``: pure functions building components (``build(**query)`` is the page skeleton);
- ``view.py``: the page's data, pure and Dash-free (what the figures and tables show);
- ``figures.py``: pure Plotly figure builders from the view;
- ``callbacks.py``: ``register(app)`` and thin callbacks: validate the inputs, call ``core`` and
  the view, build outputs with the layout/figure functions, return a dict of named outputs.

Pages never import each other; what several pages use lives in :mod:`dashapp.shared`.
``create_app`` registers each package with ``dash.register_page`` and calls its
``register_callbacks``; a new page is a new folder listed in :data:`PAGES` (and in
``pyproject.toml``'s packages). Callbacks are attached to the app object, not with
``dash.callback``, so every app built in a process (tests build several) gets them.

Small settings go in the session state (``state.view_settings(NAME)``, written back with
``state.with_view_settings``); frames and models stay in the app's cache, never the browser.
"""

from __future__ import annotations

from types import ModuleType

from dashapp.pages import (
    changes,
    compare,
    data,
    explore,
    export,
    library,
    model,
    rfm,
    segments,
    value,
)

PAGES: tuple[ModuleType, ...] = (
    data,
    explore,
    rfm,
    compare,
    model,
    segments,
    value,
    changes,
    export,
    library,
)
