"""The team workspace: saved segmentations, their datasets and the export log, in a database
(``CUSTSEG_DATABASE_URL``; an SQLite file in the data folder by default). See
:mod:`core.workspace.store` for the service and :mod:`core.workspace.db` for where it lives."""

from core.workspace.db import DATA_DIR_ENV, DATABASE_ENV, data_dir, database_url
from core.workspace.store import (
    DamagedRecordError,
    Dataset,
    DatasetInput,
    NameTakenError,
    Saved,
    Workspace,
    WorkspaceError,
    check_name,
)

__all__ = [
    "DATABASE_ENV",
    "DATA_DIR_ENV",
    "DamagedRecordError",
    "Dataset",
    "DatasetInput",
    "NameTakenError",
    "Saved",
    "Workspace",
    "WorkspaceError",
    "check_name",
    "data_dir",
    "database_url",
]
