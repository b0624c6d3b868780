"""Transactions from a database source the server's operator named (``CUSTSEG_SOURCES_FILE``,
:func:`core.sources.named_sources`): a user picks a source by name and a table, or writes a
SELECT; the rows are read read-only under the source's limits and become this session's data,
stored as an upload (a Parquet snapshot), as a file would. URLs and credentials stay on the
server."""

from __future__ import annotations

from dataclasses import dataclass

from core import sources
from core.errors import ConfigError
from dashapp.services import AppServices
from dashapp.state import SessionState


@dataclass(frozen=True)
class Read:
    state: SessionState
    rows: int
    label: str


def source_names() -> list[str]:
    return sorted(sources.named_sources())


def tables_hint(name: object) -> str:
    """What the chosen source offers, in words."""
    found = sources.named_sources().get(name) if isinstance(name, str) else None
    if found is None:
        return ""
    tables = ", ".join(found.tables) if found.tables else "any table"
    queries = "; or write a SELECT" if found.queries else ""
    return f"Tables: {tables}{queries}."


def read_source(
    state: SessionState, services: AppServices, *, name: object, table: object, query: object
) -> Read:
    """Read the table or query of the named source into this session (an upload)."""
    named = sources.named_sources()
    if not isinstance(name, str) or name not in named:
        raise ConfigError("pick a source first", "the list shows the configured sources")
    table_text = table.strip() if isinstance(table, str) and table.strip() else None
    query_text = query.strip() if isinstance(query, str) and query.strip() else None
    source = named[name].source(table=table_text, query=query_text)
    frame = sources.read_database(source)
    what = table_text or "query"
    stored = services.uploads.save(
        sources.snapshot(frame), f"{name}-{what}.parquet", state.session_id, current=state.dataset
    )
    services.registry.grant(state.session_id, stored.key)
    label = f"{name} ({'table ' + table_text if table_text else 'query'})"
    return Read(state=state.with_dataset(stored.key, stored.filename), rows=frame.height,
                label=label)
