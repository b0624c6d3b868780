"""The app's pages, in navbar order.

Each page module defines:

- ``PATH``, ``NAME``, ``ORDER`` (and optionally ``TITLE``, ``DESCRIPTION``): its route and label;
- ``layout(**query) -> Component``: called on each visit (Dash Pages passes query parameters);
- ``register_callbacks(app: Dash) -> None``: registers its callbacks with ``app.callback``.
  The callback bodies are plain module-level functions, so tests call them directly.

``create_app`` registers each module with ``dash.register_page`` and calls its
``register_callbacks``; add a new view by writing its module and listing it in :data:`PAGES`.
Callbacks are attached to the app object, not with ``dash.callback``, so every app built in a
process (tests build several) gets them.

A view's callback, thin by design::

    def update(data: object, k: object) -> go.Figure:
        state = require_state(data)                     # dashapp.state: token + ownership
        k = validated_int(k)                            # every input checked on the server
        table = session_table(state, get_services())    # dashapp.loading: cached core call
        return figures.some_figure(table.features, k)   # pure builder (dashapp.figures)

Its ids go in ``dashapp.ids``; its small settings in ``state.view_settings(NAME)`` (written back
with ``state.with_view_settings``), frames and models in the app's cache, never the browser.
"""

from __future__ import annotations

from types import ModuleType

from dashapp.pages import compare, data, explore, export, model, rfm, segments

PAGES: tuple[ModuleType, ...] = (data, explore, rfm, compare, model, segments, export)
