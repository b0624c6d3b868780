"""A saved segmentation as the app's reproducible bundle (:mod:`core.bundle`), for
``custseg workspace export NAME DIR``.

The saved dataset's bytes are read again with the mapping, date format and cleaning rules it
was saved with, which gives the customer table the app showed (same content, same key); the
saved model (checked first) supplies the segments and their names, and the k choice and
stability are computed as the app's Model page computes them. The folder then holds the
bundle's files, byte for byte the ones the app's zip holds, plus the data file under its own
name (so the bundle's reproduce command runs in that folder) and ``model.custseg`` (for
``custseg score --model``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core import bundle
from core.cache import fingerprint_bytes
from core.export import Format
from core.workspace.store import Saved, Workspace, WorkspaceError

if TYPE_CHECKING:
    from core.clustering.result import SegmentationResult
    from core.pipeline import CustomerTable

MODEL_FILE = "model.custseg"


@dataclass(frozen=True)
class SavedBundle:
    """What :func:`saved_bundle` wrote: the bundle's files, then the data and model files."""

    files: tuple[str, ...]
    data_file: str
    rows: int
    same_data: bool  # the table read again has the key the model was fitted on


def data_filename(saved: Saved) -> str:
    """The data file's name in the folder: the saved file name without any folder part."""
    name = Path(saved.dataset.filename.replace("\\", "/")).name
    if name in ("", ".", ".."):
        return "data" + (Path(saved.dataset.filename).suffix or ".bin")
    return name


def saved_table(saved: Saved, content: bytes) -> tuple[CustomerTable, bundle.SegmentationSettings]:
    """The customer table of a saved segmentation's data, read as it was when saved, and its
    cleaning (the model configs are the saved model's: see :func:`saved_bundle`)."""
    from core.pipeline import build_customer_table, load_transactions  # noqa: PLC0415

    stored = saved.dataset.settings
    if stored.get("kind") == "feature table":
        raise WorkspaceError(
            f"{saved.name!r} was saved from a customer feature table, not transactions: its "
            "bundle needs the transactions (lines read, cleaning, the reproduce command)",
            "save it again from the transaction file (`custseg segment FILE --save NAME`)",
        )
    cleaning = stored.get("cleaning")
    settings = bundle.SegmentationSettings(
        cleaning=bundle.cleaning_of(cleaning if isinstance(cleaning, dict) else {})
    )
    mapping = {role: col for role, col in saved.dataset.mapping.items() if col is not None}
    date_format = stored.get("date_format")
    loaded = load_transactions(
        content,
        filename=saved.dataset.filename,
        overrides=mapping,
        date_format=date_format if isinstance(date_format, str) else None,
        decimal_comma=True if stored.get("decimal_comma") is True else None,
    )
    table = build_customer_table(loaded, cleaning=settings.cleaning, features=settings.features)
    return table, settings


def _settings_of(
    settings: bundle.SegmentationSettings, result: SegmentationResult
) -> bundle.SegmentationSettings:
    seg = result.segmentation
    return bundle.SegmentationSettings(
        cleaning=settings.cleaning,
        preprocess=seg.preprocess_config,
        model=seg.model_config,
        features=settings.features,
    )


def saved_bundle(
    workspace: Workspace,
    name: str,
    folder: Path,
    *,
    list_format: Format = "csv",
    segments: Sequence[int] | None = None,
) -> SavedBundle:
    """Write the bundle of the saved segmentation ``name`` into ``folder`` (``segments``:
    the list's segments, default every segment). Everything is computed before anything is
    written: a damaged record, a wrong segment or unreadable data leaves ``folder`` as it was.
    """
    from core.clustering.persist import model_bytes  # noqa: PLC0415

    saved = workspace.get(name)
    result = workspace.model(saved.name)  # checked before anything is used
    content = workspace.dataset_bytes(saved.dataset)
    table, settings = saved_table(saved, content)
    settings = _settings_of(settings, result)
    chosen = bundle.check_segments(
        result, bundle.default_segments(result) if segments is None else segments
    )
    selection, stability = bundle.diagnostics(table, settings, result)
    frame = bundle.bundle_list(result, table, chosen)
    files = bundle.bundle_files(
        table=table,
        settings=settings,
        result=result,
        segments=chosen,
        list_format=list_format,
        filename=saved.dataset.filename,
        file_sha256=fingerprint_bytes(content),
        frame=frame,
        selection=selection,
        stability=stability,
    )
    data_name = data_filename(saved)
    if data_name in files or data_name == MODEL_FILE:
        data_name = "data-" + data_name
    bundle.write_files(
        {**files, data_name: content, MODEL_FILE: model_bytes(result)}, folder
    )
    return SavedBundle(
        files=(*files, data_name, MODEL_FILE),
        data_file=data_name,
        rows=frame.height,
        same_data=table.key == result.data_key,
    )
