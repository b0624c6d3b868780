"""``custseg workspace list|show|delete|export``: the saved segmentations of the workspace
(:mod:`core.workspace`, at ``CUSTSEG_DATABASE_URL``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.errors import ConfigError


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
    from core.cli.segment import plain  # noqa: PLC0415
    from core.clustering.persist import model_bytes  # noqa: PLC0415

    item = workspace.get(args.name)
    model = workspace.model(item.name)  # checked before anything is written
    data = workspace.dataset_bytes(item.dataset)
    folder.mkdir(parents=True, exist_ok=True)
    data_name = "data" + (Path(item.dataset.filename).suffix or ".bin")
    (folder / data_name).write_bytes(data)
    (folder / "model.custseg").write_bytes(model_bytes(model))
    record = {
        "name": item.name,
        "note": item.note,
        "creator": item.creator,
        "created": item.created_at.isoformat(),
        "updated": item.updated_at.isoformat(),
        "data": {**plain(item.dataset), "file": data_name},
        "configs": item.configs,
        "seed": item.seed,
        "segments": [
            {"segment": i, "name": n, "color": c}
            for i, (n, c) in enumerate(zip(item.segment_names, item.segment_colors, strict=True))
        ],
        "exports": [plain(e) for e in workspace.exports(item.name)],
    }
    (folder / "config.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    print(f"wrote {data_name}, model.custseg and config.json to {folder}")
    return 0


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
        "export", help="write a saved segmentation's data, model and settings to a folder"
    )
    export.add_argument("name")
    export.add_argument("dir", help="a new or empty folder")
    export.set_defaults(func=_cmd_export)
