"""The embedded default data set, installed as the package ``custseg_data``.

The folder sits at the repository root (``data/``); ``pyproject.toml`` maps it to this import
name so an installed app finds ``default_transactions.parquet`` through
:func:`importlib.resources.files`, not relative to a checkout. See ``README.md`` beside it.
"""
