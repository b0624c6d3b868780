"""Typed, user-facing errors.

Every error a user can trigger with bad input derives from :class:`CustsegError`. Its
``message`` says what is wrong and its ``hint`` how to fix it; the CLI prints both and exits
with status 2, the app shows them in an alert. Nothing else should be caught broadly.
"""

from __future__ import annotations


class CustsegError(Exception):
    """Base class: a problem with the user's input or configuration, not a bug."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nHow to fix: {self.hint}"


class InputFileError(CustsegError):
    """The file cannot be read as a table (empty, binary, wrong format, too large, ...)."""


class SchemaError(CustsegError):
    """Required column roles are missing or a mapping names a column that does not exist."""


class ParseError(CustsegError):
    """Values in a mapped column cannot be parsed (dates, numbers)."""


class ConfigError(CustsegError):
    """An invalid configuration value (unknown rule, bad parameter, invalid rule set)."""


class DataSufficiencyError(CustsegError):
    """Not enough usable data for the requested computation."""
