"""``custseg segment`` and ``custseg score``: the clustering service on the command line.

Both accept a transaction file (read, mapped, cleaned and turned into customer features) or a
customer feature table written by ``custseg features`` (used as is). Every figure printed or
written comes from the :class:`~core.clustering.result.SegmentationResult` (one computation
path). Both write every customer of INPUT with the same columns
(:func:`core.scoring.customer_rows`:
excluded customers with an empty segment and their reason); options left out take the app's
defaults (:mod:`core.clustering.defaults`). Bad input raises a
:class:`core.errors.CustsegError`, which ``core.cli.main`` prints as a message plus a hint with
exit status 2. Heavy modules are imported inside the handlers
so ``custseg --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.cli.args import (
    TABLE_SUFFIXES,
    add_engine_options,
    add_mapping_options,
    add_source_options,
    database_source,
    output_path,
    parse_mapping,
    spark_master,
    write_table,
)
from core.clustering.defaults import (
    DEFAULT_ALGORITHM,
    DEFAULT_FEATURES,
    DEFAULT_K,
    DEFAULT_LINKAGE,
    DEFAULT_SCALER,
    DEFAULT_SEED,
    DEFAULT_STABILITY_REFITS,
)
from core.errors import ConfigError, InputFileError

if TYPE_CHECKING:
    import polars as pl

    from core.clustering.products import ProductLines
    from core.sources import DatabaseSource


@dataclass(frozen=True)
class Customers:
    """Customer features read from INPUT, with what the service needs to key them."""

    features: pl.DataFrame
    lines: pl.DataFrame | ProductLines | None  # the top products' lines
    data_key: str
    notes: tuple[str, ...]
    source: str  # "transactions" or "feature table"
    # What a saved segmentation keeps of INPUT (core.workspace.DatasetInput): its bytes (a
    # file's path, or a database read's Parquet snapshot), a description, mapping, settings.
    origin: Path | bytes = field(default=b"", repr=False)
    label: str = ""
    fingerprint: str = ""
    mapping: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


def load_customers(
    text: str,
    *,
    mapping: dict[str, str],
    date_format: str | None,
    decimal_comma: bool = False,
    database: DatabaseSource | None = None,
) -> Customers:
    """Read INPUT: a feature table from ``custseg features`` as is, else a transaction file
    (``decimal_comma``: read its numbers with a decimal comma, else as detected), or the
    transactions of ``database`` (INPUT's URL, :mod:`core.sources`)."""
    import polars as pl  # noqa: PLC0415

    from core.cache import fingerprint_file, make_key  # noqa: PLC0415
    from core.pipeline import load_transactions, read_feature_table  # noqa: PLC0415

    settings = {"date_format": date_format, "decimal_comma": decimal_comma}
    if database is not None:
        from core import sources  # noqa: PLC0415

        snapshot = sources.snapshot(sources.read_database(database))
        loaded = sources.load_snapshot(
            snapshot,
            database,
            overrides=mapping,
            date_format=date_format,
            decimal_comma=True if decimal_comma else None,
        )
        return _transactions(loaded, origin=snapshot, label=database.label, settings=settings)
    path = Path(text)
    if not path.is_file():
        raise InputFileError(f"File not found: {text!r}.", hint="check the path and the file name")
    features = None
    if path.suffix.lower() in (".csv", ".parquet"):
        try:
            features = read_feature_table(path)
        except pl.exceptions.PolarsError as exc:
            if _has_feature_header(path):
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise InputFileError(
                    f"{path.name!r} looks like a customer feature table but cannot be read: "
                    f"{first}",
                    hint="Write it again with `custseg features`, or fix the value quoted.",
                ) from None
            # Not a feature table: read it as transactions, which reports problems clearly.
            features = None
    if features is not None:
        notes: list[str] = []
        if mapping or date_format or decimal_comma:
            notes.append(
                "--map, --date-format and --decimal-comma ignored: INPUT is a customer "
                "feature table"
            )
        key = make_key("feature_table", fingerprint_file(path))
        return Customers(
            features=features,
            lines=None,
            data_key=key,
            notes=tuple(notes),
            source="feature table",
            origin=path,
            label=path.name,
            fingerprint=key,
            settings={"kind": "feature table"},
        )
    loaded = load_transactions(
        path,
        overrides=mapping,
        date_format=date_format,
        decimal_comma=True if decimal_comma else None,
    )
    return _transactions(loaded, origin=path, label=path.name, settings=settings)


def _transactions(
    loaded: Any, *, origin: Path | bytes, label: str, settings: dict[str, Any]
) -> Customers:
    """Customers of loaded transactions (:class:`core.pipeline.LoadedTransactions`)."""
    from core.cleaning import CleaningConfig  # noqa: PLC0415
    from core.pipeline import build_customer_table  # noqa: PLC0415

    cleaning = CleaningConfig()
    # The top products' lines as the engine's pass codes them: none is read back.
    table = build_customer_table(loaded, cleaning=cleaning, product_lines=True)
    return Customers(
        features=table.features,
        lines=table.product_codes,
        data_key=table.key,
        notes=tuple(table.notes()),
        source="transactions",
        origin=origin,
        label=label,
        fingerprint=loaded.fingerprint,
        mapping=loaded.mapping.as_dict(),
        settings={"kind": "transactions", **settings, "cleaning": plain(cleaning)},
    )


def plain(value: Any) -> Any:
    """A config as JSON-ready data (dataclasses as dicts, tuples as lists)."""
    import dataclasses  # noqa: PLC0415

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _has_feature_header(path: Path) -> bool:
    """True when the file's columns are those of a ``custseg features`` table."""
    import polars as pl  # noqa: PLC0415

    from core.pipeline import is_feature_table  # noqa: PLC0415

    try:
        if path.suffix.lower() == ".parquet":
            columns = pl.read_parquet_schema(path).names()
        else:
            columns = pl.read_csv(path, n_rows=0, infer_schema=False).columns
    except pl.exceptions.PolarsError:
        return False
    return is_feature_table(columns)


def _parse_k(text: str) -> int | None:
    if text.strip().lower() == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigError(
            f"--k must be 'auto' or a whole number, got {text!r}",
            hint="e.g. --k 4, or --k auto to let the k-selection criteria choose",
        ) from None


def _parse_features(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise ConfigError(
            f"--features needs at least one feature name, got {text!r}",
            hint="e.g. --features recency_days,frequency,monetary",
        )
    return names


def _model_path(text: str) -> Path:
    path = Path(text)
    if not path.parent.is_dir():
        raise ConfigError(
            f"the folder for --model {text!r} does not exist", "create it or choose another path"
        )
    return path


def _warn(message: str) -> None:
    print(f"custseg: warning: {message}", file=sys.stderr)


def _replay(caught: list[warnings.WarningMessage], shown: set[str]) -> None:
    """Print clustering warnings once (plainly); hand any other warning back to Python."""
    from core.clustering.preprocess import ClusteringWarning  # noqa: PLC0415

    for w in caught:
        if issubclass(w.category, ClusteringWarning):
            text = str(w.message)
            if text not in shown:
                shown.add(text)
                _warn(text)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.1%}"


def cmd_segment(args: argparse.Namespace) -> int:
    """Handler of ``custseg segment``: the segment workflow of :mod:`core.clustering.workflow`;
    with ``--save``, the workspace is opened (and the name checked) before anything is fitted;
    with ``--engine spark``, :mod:`core.cli.spark_segment` fits with MLlib."""
    master = spark_master(args)
    if args.engine == "spark":
        from core.cli import spark_segment  # noqa: PLC0415

        return spark_segment.segment(args, master)
    if args.save is None:
        return _segment(args, workspace=None)
    with _open_workspace_for(args.save) as workspace:
        return _segment(args, workspace=workspace)


def _segment(args: argparse.Namespace, *, workspace: Any) -> int:
    from core.clustering import workflow  # noqa: PLC0415
    from core.clustering.persist import save_model  # noqa: PLC0415
    from core.clustering.preprocess import ClusteringWarning  # noqa: PLC0415
    from core.clustering.result import report  # noqa: PLC0415
    from core.scoring import customer_rows  # noqa: PLC0415

    out = output_path(args.out, TABLE_SUFFIXES)
    report_path = output_path(args.report, (".json",), "--report") if args.report else None
    model_path = _model_path(args.model) if args.model else None
    mapping = parse_mapping(args.map)
    config = _workflow_config(args)
    shown: set[str] = set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ClusteringWarning)
        customers = load_customers(
            args.input,
            mapping=mapping,
            date_format=args.date_format,
            decimal_comma=args.decimal_comma,
            database=database_source(args),
        )
        for note in customers.notes:
            print(note, file=sys.stderr)
        done = workflow.run(
            customers.features, config, data_key=customers.data_key, lines=customers.lines
        )
    result = done.result
    k_reason = done.k_reason
    if not config.auto_k and config.sweeps:
        how = "set with --k" if args.k is not None else "the default (as in the app)"
        k_reason = k_reason.replace("chosen", how, 1)
    for note in result.segmentation.warnings:
        shown.add(note)
        _warn(note)
    _replay(caught, shown)
    write_table(customer_rows(result.assignments(), customers.features), out)
    if model_path is not None:
        save_model(result, model_path)
    if workspace is not None:
        _save(workspace, args, result=result, customers=customers, config=config)
    if report_path is not None:
        content = report(
            result, selection=done.selection, stability=done.stability, k_reason=k_reason
        )
        report_path.write_text(json.dumps(content, indent=2, default=str, allow_nan=False) + "\n")
    _print_summary(result, k_reason=k_reason, stability=done.stability)
    written = [str(out)] + [str(p) for p in (model_path, report_path) if p is not None]
    print(f"wrote {', '.join(written)}")
    return 0


def _open_workspace_for(name: str) -> Any:
    """The workspace, checked before any fit: the name must be free."""
    from core.workspace import NameTakenError, Workspace, check_name  # noqa: PLC0415

    workspace = Workspace()
    if not workspace.name_free(name):
        workspace.close()
        raise NameTakenError(
            f"a saved segmentation is already called {check_name(name)!r} in {workspace.label}",
            "choose another --save name, or `custseg workspace delete` the saved one first",
        )
    return workspace


def _save(
    workspace: Any, args: argparse.Namespace, *, result: Any, customers: Customers, config: Any
) -> None:
    import getpass  # noqa: PLC0415

    from core.workspace import DatasetInput  # noqa: PLC0415

    user = getpass.getuser()
    dataset = workspace.add_dataset(
        DatasetInput(
            fingerprint=customers.fingerprint,
            source=customers.label,
            filename=customers.label if isinstance(customers.origin, Path) else "snapshot.parquet",
            content=customers.origin,
            mapping=customers.mapping,
            settings=customers.settings,
        ),
        user=user,
    )
    saved = workspace.save(
        args.save,
        result=result,
        dataset=dataset,
        configs=plain(config),
        note=args.note or "",
        creator=user,
    )
    print(f"saved as {saved.name!r} in the workspace {workspace.label}")


def _workflow_config(args: argparse.Namespace) -> Any:
    """The workflow of ``custseg segment``'s options, each left out taken from
    :mod:`core.clustering.defaults` (the app's defaults). Validated by the configs before any
    data is read (k is checked again once chosen)."""
    from core.clustering import workflow  # noqa: PLC0415
    from core.clustering.config import ModelConfig, PreprocessConfig  # noqa: PLC0415

    algorithm = args.algorithm
    k = DEFAULT_K if args.k is None else _parse_k(args.k)
    if algorithm == "hdbscan" and args.k is not None and k is not None:
        raise ConfigError(
            f"--k {k} cannot be used with --algorithm hdbscan",
            hint="HDBSCAN finds the number of segments itself: use --k auto or leave --k out.",
        )
    return workflow.WorkflowConfig(
        preprocess=PreprocessConfig(
            features=_parse_features(args.features) or DEFAULT_FEATURES, scaler=args.scaler
        ),
        model=ModelConfig(
            algorithm=algorithm,
            k=None if algorithm == "hdbscan" else (DEFAULT_K if k is None else k),
            linkage=args.linkage,
            random_state=args.seed,
        ),
        auto_k=k is None and algorithm != "hdbscan",
        sweep="cheap",
        stability_refits=DEFAULT_STABILITY_REFITS if args.stability is None else args.stability,
    )


def _print_summary(result: Any, *, k_reason: str, stability: Any | None) -> None:
    from core.clustering.result import NOISE_NAME  # noqa: PLC0415

    overview = result.overview
    seg = result.segmentation
    sil = "n/a" if overview.silhouette is None else f"{overview.silhouette:.2f}"
    print(
        f"segmented {overview.customers:,} customers ({overview.excluded:,} excluded"
        + (f", {overview.noise:,} noise" if overview.noise else "")
        + f") into {result.k} segments with {seg.description}; silhouette {sil} "
        f"({overview.silhouette_note})"
    )
    print(k_reason)
    if stability is not None:
        print(f"stability: {stability.summary}")
    table = result.segment_table()
    rows = table.select("segment", "name", "customers", "share", "revenue_share").rows()
    if overview.noise:
        rows.append(
            (
                -1,
                NOISE_NAME,
                overview.noise,
                overview.noise_share,
                overview.noise_revenue_share,
            )
        )
    width = max(len("name"), *(len(row[1]) for row in rows))
    print(f"{'seg':>3}  {'name':<{width}}  {'customers':>9}  {'share':>6}  {'revenue':>7}")
    for segment, name, customers, share, revenue_share in rows:
        print(
            f"{segment:>3}  {name:<{width}}  {customers:>9,}  {_pct(share):>6}  "
            f"{_pct(revenue_share):>7}"
        )
    for profile, name in zip(result.profiles, result.names, strict=True):
        print(f"{name}: {profile.insight} {profile.action}")


def cmd_score(args: argparse.Namespace) -> int:
    """Handler of ``custseg score`` (:func:`core.scoring.score_table`, as the app's Library
    page scores; ``--engine spark``: :mod:`core.cli.spark_segment`)."""
    master = spark_master(args)
    if args.engine == "spark":
        from core.cli import spark_segment  # noqa: PLC0415

        return spark_segment.score(args, master)

    from core.clustering.persist import load_model  # noqa: PLC0415
    from core.clustering.preprocess import ClusteringWarning  # noqa: PLC0415
    from core.scoring import score_table  # noqa: PLC0415

    out = output_path(args.out, TABLE_SUFFIXES)
    mapping = parse_mapping(args.map)
    shown: set[str] = set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ClusteringWarning)
        model = _saved_model(args.saved) if args.saved is not None else load_model(args.model)
        customers = load_customers(
            args.input,
            mapping=mapping,
            date_format=args.date_format,
            decimal_comma=args.decimal_comma,
            database=database_source(args),
        )
        for note in customers.notes:
            print(note, file=sys.stderr)
        scored = score_table(model, customers.features)
    _replay(caught, shown)
    write_table(scored.rows, out)
    print(
        f"scored {scored.assigned:,} customers ({scored.excluded:,} excluded) with the "
        f"{model.k}-segment model "
        + (f"saved as {args.saved!r}" if args.saved is not None else repr(Path(args.model).name))
    )
    for row in scored.sizes.iter_rows(named=True):
        print(f"{row['segment']:>3}  {row['segment_name']}: {row['customers']:,}")
    print(f"wrote {out}")
    return 0


def _saved_model(name: str) -> Any:
    """A saved segmentation's model from the workspace, checked before INPUT is read."""
    from core.workspace import Workspace  # noqa: PLC0415

    with Workspace() as workspace:
        return workspace.model(name)


def add_commands(sub: Any) -> None:
    """Register ``segment`` and ``score`` on the ``custseg`` sub-parsers."""
    segment = sub.add_parser(
        "segment", help="cluster customers into named segments (features, profiles, report)"
    )
    segment.add_argument(
        "input",
        help="transactions (.csv/.xlsx/.parquet or a database URL) or a feature table from "
        "`features`",
    )
    add_mapping_options(segment)
    add_source_options(segment)
    add_engine_options(segment)
    segment.add_argument(
        "--algorithm",
        default=DEFAULT_ALGORITHM,
        help=f"kmeans, minibatch, hierarchical, gmm or hdbscan (default {DEFAULT_ALGORITHM}); "
        "with --engine spark: kmeans or bisecting",
    )
    segment.add_argument(
        "--k",
        help=f"number of segments, or auto to let the k-selection criteria choose (default "
        f"{DEFAULT_K}, as in the app; HDBSCAN finds k itself)",
    )
    segment.add_argument(
        "--linkage",
        default=DEFAULT_LINKAGE,
        help=f"hierarchical linkage: ward, complete or average (default {DEFAULT_LINKAGE})",
    )
    segment.add_argument(
        "--features",
        metavar="A,B,C",
        help=f"features to cluster on (default {','.join(DEFAULT_FEATURES)})",
    )
    segment.add_argument(
        "--scaler",
        default=DEFAULT_SCALER,
        help=f"standard, robust or minmax (default {DEFAULT_SCALER})",
    )
    segment.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    segment.add_argument(
        "--stability",
        type=int,
        metavar="N",
        help=f"bootstrap refits to rate stability (default {DEFAULT_STABILITY_REFITS}; 0 skips)",
    )
    segment.add_argument(
        "--out", required=True, help="one row per customer: .csv, .xlsx or .parquet"
    )
    segment.add_argument("--model", help="save the model here (for `custseg score`)")
    segment.add_argument("--report", help="write the JSON report here")
    segment.add_argument(
        "--save",
        metavar="NAME",
        help="keep the segmentation and its data in the workspace (CUSTSEG_DATABASE_URL) "
        "under NAME",
    )
    segment.add_argument("--note", help="a note kept with --save")
    segment.set_defaults(func=cmd_segment)

    score = sub.add_parser("score", help="assign a new period's customers to a saved model")
    score.add_argument(
        "input", help="transactions (file or database URL) or a feature table of the new period"
    )
    add_mapping_options(score)
    add_source_options(score)
    add_engine_options(score)
    model = score.add_mutually_exclusive_group(required=True)
    model.add_argument("--model", help="model file from `custseg segment --model`")
    model.add_argument(
        "--saved", metavar="NAME", help="a segmentation saved with `custseg segment --save`"
    )
    score.add_argument("--out", required=True, help="output .csv, .xlsx or .parquet")
    score.set_defaults(func=cmd_score)
