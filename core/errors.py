"""Typed, user-facing errors.

Every error a user can trigger with bad input derives from :class:`CustsegError`. Its
``message`` says what is wrong and its ``hint`` how to fix it; the CLI prints both and exits
with status 2, the app shows them in an alert. Nothing else should be caught broadly, except
at the two outer edges (the CLI's ``main`` and the app's callback error handler), which report
any other exception through :func:`report_unexpected`: the traceback goes to the log under a
short reference, the user gets the reference.
"""

from __future__ import annotations

import errno
import logging
import secrets


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


class ConvergenceError(CustsegError):
    """A model fit did not converge to usable parameters (e.g. the predicted-value models)."""


class StorageError(CustsegError):
    """Something could not be stored: the disk is full, or an allowance is used up."""


def os_cause(exc: OSError) -> str:
    """Why an ``OSError`` happened, in plain words (a full disk, a used-up quota, ...)."""
    causes = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is used up",
        errno.EROFS: "the storage is read-only",
        errno.EACCES: "permission denied",
    }
    return causes.get(exc.errno or 0) or f"the system said: {exc.strerror or exc}"


def storage_error(exc: OSError, what: str, *, hint: str) -> StorageError:
    """A :class:`StorageError` for an ``OSError`` met while writing ``what`` ("the file")."""
    return StorageError(
        f"{what[:1].upper()}{what[1:]} could not be stored ({os_cause(exc)}).", hint
    )


def report_unexpected(exc: BaseException, log: logging.Logger, where: str) -> str:
    """Log ``exc`` with its traceback under a new short reference and return the reference.

    The reference (8 hex digits) is what the user sees instead of the traceback, so a report
    ("error 3f9a0c1b") finds the traceback in the server log.
    """
    reference = secrets.token_hex(4)
    log.error("unexpected error %s in %s", reference, where, exc_info=exc)
    return reference


def summary_line(exc: BaseException, *, limit: int = 200) -> str:
    """``Type: first line of the message``, bounded: an exception in one line for users."""
    text = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"
