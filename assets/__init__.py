"""The app's static files (CSS, JS, vendored Bootstrap), installed as the package ``custseg_assets``.

The folder sits at the repository root (``assets/``); ``pyproject.toml`` maps it to this import
name so an installed app finds it through :func:`importlib.resources.files`, not a checkout path.
Dash serves only the ``.css`` and ``.js`` files in it (and ``vendor/``); this module is not served.
``vendor/plotly-partial.min.js`` is built by ``tools/build_plotly.sh``, not edited by hand.
"""
