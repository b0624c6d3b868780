"""``custseg workspace list|show|delete|export``: the saved segmentations of the workspace
(:mod:`core.workspace`, at ``CUSTSEG_DATABASE_URL``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.cli.args import TABLE_SUFFIXES
from core.errors import ConfigError

FORMATS = tuple(suffix[1:] for suffix in TABLE_SUFFIXES)  # core.export.FORMATS, without polars


def _open() -> Any:
    from core.workspace import Workspace  # noqa: PLC0415

    return Workspace()


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _cmd_list(args: argparse.Namespace) -> int:
    with _open() as workspace:
        return _list(workspace, args)


def _list(workspace: Any, args: argparse.Namespace) -> int:
    saved = workspace.list(search=args.search or "", sort=args.sort)
    print(f"workspace {workspace.label}: {len(saved)} saved segmentation(s)")
    for item in saved:
        print(
            f"{item.name}\t{item.k} segments\t{item.creator or '-'}\t"
            f"{_when(item.updated_at)}\t{item.dataset.source}"
        )
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    with _open() as workspace:
        return _show(workspace, args)


def _show(workspace: Any, args: argparse.Namespace) -> int:
    item = workspace.get(args.name)
    exports = workspace.exports(item.name)
    lines = [
        f"name:     {item.name}",
        f"note:     {item.note or '-'}",
        f"creator:  {item.creator or '-'}",
        f"created:  {_when(item.created_at)}",
        f"updated:  {_when(item.updated_at)}",
        f"data:     {item.dataset.source} ({item.dataset.size_bytes:,} bytes, "
        f"sha256 {item.dataset.content_sha256[:12]}...)",
        f"mapping:  {json.dumps(item.dataset.mapping)}",
        f"seed:     {item.seed}",
        f"segments: {item.k}: {', '.join(item.segment_names)}",
        f"configs:  {json.dumps(item.configs)}",
        f"exports:  {len(exports)}",
    ]
    lines += [
        f"  {_when(e['exported_at'])}  {e['exported_by'] or '-'}  {e['list_name']}  "
        f"{e['rows']:,} rows ({e['format']})"
        for e in exports
    ]
    print("\n".join(lines))
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    with _open() as workspace:
        workspace.delete(args.name)
        print(f"deleted {args.name!r} from the workspace {workspace.label}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    if folder.exists() and any(folder.iterdir()):
        raise ConfigError(f"the folder {str(folder)!r} is not empty", "give a new or empty folder")
    with _open() as workspace:
        return _export(workspace, args, folder)


def _export(workspace: Any, args: argparse.Namespace, folder: Path) -> int:
    from core.workspace.export import saved_bundle  # noqa: PLC0415

    done = saved_bundle(
        workspace,
        args.name,
        folder,
        list_format=args.format,
        segments=None if args.segments is None else _segments(args.segments),
    )
    if not done.same_data:
        print(
            "custseg: warning: the saved data read again gives another table key than the "
            "model was fitted on (another custseg or library version?); check the lists",
            file=sys.stderr,
        )
    print(
        f"wrote the bundle of {args.name!r} ({done.rows:,} customers in the list): "
        f"{', '.join(done.files)} to {folder}"
    )
    return 0


def _segments(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(
            f"--segments must be segment numbers separated by commas, got {text!r}",
            "e.g. --segments 0,2 (`custseg workspace show NAME` lists them)",
        ) from None


def add_commands(sub: Any) -> None:
    """Register ``workspace`` and its sub-commands on the ``custseg`` sub-parsers."""
    workspace = sub.add_parser(
        "workspace", help="saved segmentations in the workspace database (CUSTSEG_DATABASE_URL)"
    )
    commands = workspace.add_subparsers(dest="workspace_command", required=True, metavar="ACTION")
    listing = commands.add_parser("list", help="list the saved segmentations")
    listing.add_argument("--search", help="only those whose name, note, creator or data hold it")
    listing.add_argument("--sort", default="updated", choices=("updated", "name", "created"))
    listing.set_defaults(func=_cmd_list)
    show = commands.add_parser("show", help="one saved segmentation in full")
    show.add_argument("name")
    show.set_defaults(func=_cmd_show)
    delete = commands.add_parser("delete", help="delete a saved segmentation")
    delete.add_argument("name")
    delete.set_defaults(func=_cmd_delete)
    export = commands.add_parser(
        "export",
        help="write a saved segmentation's bundle (the app's reproducibility zip's files), "
        "its data and model to a folder",
    )
    export.add_argument("name")
    export.add_argument("dir", help="a new or empty folder")
    export.add_argument(
        "--format", default="csv", choices=FORMATS, help="the list's format (default csv)"
    )
    export.add_argument(
        "--segments", metavar="A,B", help="the list's segments by number (default: every one)"
    )
    export.set_defaults(func=_cmd_export)
