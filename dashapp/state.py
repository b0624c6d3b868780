"""The small JSON state a browser session keeps, and its validation on the server.

The app-level ``dcc.Store`` (session storage) holds a signed token plus the user's choices:
which dataset, the column mapping, the date format, the cleaning rules, and a ``views`` dict
where later views keep their own small settings. Frames and models never go to the browser.

The browser can edit all of it, so :func:`parse_state` checks every field on every callback:
the token's signature, that the dataset is the default one or one this session uploaded, and
the type and size of each value. Anything off raises :class:`StateError`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from dash.exceptions import PreventUpdate

from core.cleaning import REASONS, CleaningConfig
from core.columns import ROLES
from dashapp.services import DEFAULT_DATASET, AppServices, get_services
from dashapp.sessions import is_dataset_key

log = logging.getLogger(__name__)

# Rules a user can switch off ("unparseable" always runs).
TOGGLEABLE_RULES: tuple[str, ...] = tuple(r for r in REASONS if r != "unparseable")
MAX_TEXT = 256
MAX_VIEWS_BYTES = 32_768
# Views whose stored value is a selection within one dataset (the Segments page's selected
# segment): a new dataset clears them. Every other view holds settings (model, RFM, Compare's
# k), which mean the same on any data and carry over.
SELECTION_VIEWS: frozenset[str] = frozenset({"segments"})


class StateError(Exception):
    """The session state sent by a browser is invalid or not this session's."""


@dataclass(frozen=True)
class SessionState:
    """Validated session state. ``mapping`` None means "use the detected roles"."""

    token: str
    session_id: str
    dataset: str = DEFAULT_DATASET
    filename: str | None = None
    mapping: Mapping[str, str | None] | None = None
    date_format: str | None = None
    cleaning: Mapping[str, bool] = field(
        default_factory=lambda: MappingProxyType(dict.fromkeys(TOGGLEABLE_RULES, True))
    )
    views: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def cleaning_config(self) -> CleaningConfig:
        """The core cleaning configuration for the toggles."""
        return CleaningConfig(**dict(self.cleaning))

    def mapping_overrides(self) -> dict[str, str | None] | None:
        """The mapping as a plain dict for ``core``, or None to detect roles."""
        return None if self.mapping is None else dict(self.mapping)

    def with_dataset(self, key: str, filename: str | None) -> SessionState:
        """A new dataset: the mapping and date format go back to detection and the selections
        made on the previous data (:data:`SELECTION_VIEWS`) are cleared."""
        views = {name: value for name, value in self.views.items() if name not in SELECTION_VIEWS}
        return replace(
            self,
            dataset=key,
            filename=filename,
            mapping=None,
            date_format=None,
            views=MappingProxyType(views),
        )

    def evolve(self, **changes: Any) -> SessionState:
        """A copy with ``changes`` (same field names as the dataclass)."""
        if "mapping" in changes and changes["mapping"] is not None:
            changes["mapping"] = MappingProxyType(dict(changes["mapping"]))
        if "cleaning" in changes:
            changes["cleaning"] = MappingProxyType(dict(changes["cleaning"]))
        if "views" in changes:
            changes["views"] = MappingProxyType(dict(changes["views"]))
        return replace(self, **changes)

    def view_settings(self, view: str) -> dict[str, Any]:
        """The small settings a view keeps in the state (a copy; validate before use)."""
        settings = self.views.get(view)
        return dict(settings) if isinstance(settings, dict) else {}

    def with_view_settings(self, view: str, settings: Mapping[str, Any]) -> SessionState:
        """A copy with ``view``'s settings replaced (JSON-serialisable values only)."""
        return self.evolve(views={**self.views, view: dict(settings)})

    def to_json(self) -> dict[str, Any]:
        """What goes back into the browser's store."""
        return {
            "token": self.token,
            "dataset": self.dataset,
            "filename": self.filename,
            "mapping": None if self.mapping is None else dict(self.mapping),
            "date_format": self.date_format,
            "cleaning": dict(self.cleaning),
            "views": dict(self.views),
        }


def new_state(services: AppServices) -> SessionState:
    """A fresh session on the default dataset."""
    token = services.signer.issue()
    session_id = services.signer.verify(token)
    assert session_id is not None  # just issued with the same key
    return SessionState(token=token, session_id=session_id)


def clean_text(value: object, name: str) -> str | None:
    """A short stripped string (None when empty); refuses other types, long or control text."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise StateError(f"{name} must be a string of at most {MAX_TEXT} characters")
    value = value.strip()
    if any(ord(ch) < 32 for ch in value):
        raise StateError(f"{name} contains control characters")
    return value or None


def parse_mapping(value: object) -> dict[str, str | None] | None:
    """Validate a role -> column mapping (unknown roles, non-strings and huge names refused)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise StateError("mapping must be an object")
    unknown = set(value) - set(ROLES)
    if unknown:
        raise StateError(f"unknown roles in mapping: {sorted(map(str, unknown))}")
    return {role: clean_text(value[role], f"mapping[{role}]") for role in ROLES if role in value}


def parse_cleaning(value: object) -> dict[str, bool]:
    """Validate the cleaning toggles; missing rules keep their default (on)."""
    toggles = dict.fromkeys(TOGGLEABLE_RULES, True)
    if value is None:
        return toggles
    if not isinstance(value, dict):
        raise StateError("cleaning must be an object")
    for rule, enabled in value.items():
        if rule not in toggles or not isinstance(enabled, bool):
            raise StateError(f"invalid cleaning toggle {rule!r}: {enabled!r}")
        toggles[rule] = enabled
    return toggles


def parse_state(data: object, services: AppServices) -> SessionState:
    """Validate what a browser sent; raise :class:`StateError` on anything invalid."""
    if not isinstance(data, dict):
        raise StateError("no session state")
    token = data.get("token")
    session_id = services.signer.verify(token)
    if session_id is None:
        raise StateError("the session token is invalid or was issued by another server key")
    assert isinstance(token, str)
    dataset = data.get("dataset", DEFAULT_DATASET)
    if dataset != DEFAULT_DATASET and not (
        is_dataset_key(dataset) and services.registry.owns(session_id, dataset)
    ):
        raise StateError("the dataset does not belong to this session")
    views = data.get("views") or {}
    if not isinstance(views, dict) or len(json.dumps(views)) > MAX_VIEWS_BYTES:
        raise StateError(f"views must be an object of at most {MAX_VIEWS_BYTES} bytes as JSON")
    return SessionState(
        token=token,
        session_id=session_id,
        dataset=dataset,
        filename=clean_text(data.get("filename"), "filename"),
        mapping=None
        if (mapping := parse_mapping(data.get("mapping"))) is None
        else MappingProxyType(mapping),
        date_format=clean_text(data.get("date_format"), "date_format"),
        cleaning=MappingProxyType(parse_cleaning(data.get("cleaning"))),
        views=MappingProxyType(views),
    )


def require_state(data: object) -> SessionState:
    """The validated state of the session making the current request, for callbacks.

    An invalid state stops the callback (``PreventUpdate``): the app-level ``ensure_session``
    callback replaces it with a fresh session, which triggers the callbacks again.
    """
    try:
        return parse_state(data, get_services())
    except StateError as exc:
        log.info("refused session state: %s", exc)
        raise PreventUpdate from exc
