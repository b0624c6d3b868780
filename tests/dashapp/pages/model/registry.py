"""What the Model page registers, recorded without building an app: every callback's
dependencies as passed to ``app.callback`` (outputs by name included) and its function."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import flask
from dash import Dash
from dash.dependencies import DashDependency

from dashapp.pages.model import callbacks


@dataclass
class Registration:
    """One ``app.callback`` (or ``app.clientside_callback``) call."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    function: Callable[..., Any] | None = field(default=None)

    def dependencies(self) -> Iterator[DashDependency]:
        """Every Output, Input and State, wherever it was passed (progress, running, cancel)."""

        def walk(value: Any) -> Iterator[DashDependency]:
            if isinstance(value, DashDependency):
                yield value
            elif isinstance(value, dict):
                for item in value.values():
                    yield from walk(item)
            elif isinstance(value, list | tuple):
                for item in value:
                    yield from walk(item)

        yield from walk(self.args)
        yield from walk(self.kwargs)


class Recorder:
    """Stands for the Dash app in ``callbacks.register``: records instead of registering."""

    def __init__(self, server: flask.Flask) -> None:
        self.server = server
        self.registrations: list[Registration] = []

    def callback(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        registration = Registration(args, kwargs)
        self.registrations.append(registration)

        def attach(function: Callable[..., Any]) -> Callable[..., Any]:
            registration.function = function
            return function

        return attach

    def clientside_callback(self, *args: Any, **kwargs: Any) -> None:
        self.registrations.append(Registration(args, kwargs))


def registrations(server: flask.Flask) -> list[Registration]:
    """Every callback the Model page registers on an app served by ``server``."""
    recorder = Recorder(server)
    callbacks.register(cast(Dash, recorder))
    return recorder.registrations


def registration_of(found: list[Registration], function: Callable[..., Any]) -> Registration:
    """The registration of ``function``."""
    return next(r for r in found if r.function is function)
