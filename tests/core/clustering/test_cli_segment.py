"""``custseg segment`` and ``custseg score``: outputs, reports, and every bad input as exit 2."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.cli import main
from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.defaults import DEFAULT_K, DEFAULT_STABILITY_REFITS
from core.clustering.persist import MAGIC, load_model, read_header, save_model, score_customers
from core.clustering.service import segment_customers
from core.columns import FEATURE_SCHEMA
from core.generator import write_transactions

ROOT = Path(__file__).resolve().parents[3]
UCI_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
TWO_CUSTOMERS = (
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
    "536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850,United Kingdom\n"
    "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/13/2010 8:34,1.69,13047,United Kingdom\n"
)


# What segment and score write: every customer, the same columns.
OUT_COLUMNS = [
    "customer_id",
    "segment",
    "segment_name",
    "excluded",
    "exclusion_reason",
    *(c for c in FEATURE_SCHEMA if c not in ("customer_id", "excluded", "exclusion_reason")),
]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    first, second = folder / "t.csv", folder / "t2.csv"
    write_transactions(first, customers=500, seed=1)
    write_transactions(second, customers=300, seed=2)
    features = folder / "features.parquet"
    assert main(["features", str(first), "--out", str(features)]) == 0
    return {"csv": first, "csv2": second, "features": features, "folder": folder}


def _features_with(data: dict[str, Path], name: str, **values: object) -> Path:
    table = pl.read_parquet(data["features"])
    table = table.with_columns(
        **{col: pl.lit(v).cast(table.schema[col]) for col, v in values.items()}
    )
    path = data["folder"] / name
    table.write_parquet(path)
    return path


def test_segment_a_transaction_csv(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, model, rep = tmp_path / "seg.csv", tmp_path / "m.cseg", tmp_path / "r.json"
    argv = ["segment", str(data["csv"]), "--algorithm", "kmeans", "--k", "auto", "--seed", "3"]
    argv += ["--out", str(out), "--model", str(model), "--report", str(rep), "--stability", "3"]
    code, stdout, stderr = _run(argv, capsys)
    assert code == 0, stderr
    report = json.loads(rep.read_text())
    k = report["k"]
    assert k == report["k_selection"]["recommended_k"]
    assert report["k_reason"] == report["k_selection"]["reason"]
    assert [row["k"] for row in report["k_selection"]["table"]] == list(range(2, 11))
    assert report["stability"]["runs"] == 3
    assert report["stability"]["rating"] in ("stable", "fairly stable", "unstable")
    segments = report["segments"]
    assert [s["segment"] for s in segments] == list(range(k))
    assert len({s["name"] for s in segments}) == k
    assert all(s["name_reason"].startswith("mean scores R ") for s in segments)
    assert all(s["insight"] and s["action"] and s["top_products"] for s in segments)
    table = pl.read_csv(out, schema_overrides={"customer_id": pl.String})
    assert table.columns == OUT_COLUMNS
    assert table.height == report["customers"] + report["excluded"]
    assert table["customer_id"].is_unique().all()
    clustered = table.filter(~pl.col("excluded"))
    counts = clustered.group_by("segment", "segment_name").len().sort("segment")
    assert counts["segment_name"].to_list() == [s["name"] for s in segments]
    assert counts["len"].to_list() == [s["customers"] for s in segments]
    assert load_model(model).names == tuple(s["name"] for s in segments)
    assert f"into {k} segments" in stdout
    assert str(out) in stdout


def test_segment_a_feature_table(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, rep = tmp_path / "seg.parquet", tmp_path / "r.json"
    argv = ["segment", str(data["features"]), "--algorithm", "hierarchical", "--k", "3"]
    argv += ["--linkage", "average", "--features", "recency_days,frequency,monetary,tenure_days"]
    argv += ["--scaler", "robust", "--out", str(out), "--report", str(rep), "--stability", "0"]
    argv += ["--map", "customer=CustomerID"]
    code, stdout, stderr = _run(argv, capsys)
    assert code == 0, stderr
    ignored = "--map, --date-format and --decimal-comma ignored: INPUT is a customer feature table"
    assert ignored in stderr
    report = json.loads(rep.read_text())
    assert report["k"] == 3
    assert report["method"] == "hierarchical-average-exact"
    assert report["features"] == ["recency_days", "frequency", "monetary", "tenure_days"]
    assert report["scaler"] == "robust"
    assert report["k_reason"].startswith("k = 3 set with --k")
    assert "k_selection" in report  # cheap at this size, so included
    assert "stability" not in report
    table = pl.read_parquet(out)
    features = pl.read_parquet(data["features"])
    assert table["customer_id"].to_list() == features["customer_id"].to_list()
    assert table.filter(~pl.col("excluded"))["segment"].n_unique() == 3
    assert "into 3 segments" in stdout


def test_score_a_new_period(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model, seg_out, out = tmp_path / "m.cseg", tmp_path / "s.csv", tmp_path / "scores.csv"
    argv = ["segment", str(data["csv"]), "--k", "4", "--out", str(seg_out), "--model", str(model)]
    assert _run([*argv, "--stability", "0"], capsys)[0] == 0
    code, stdout, stderr = _run(
        ["score", str(data["csv2"]), "--model", str(model), "--out", str(out)], capsys
    )
    assert code == 0, stderr
    scores = pl.read_csv(out, schema_overrides={"customer_id": pl.String})
    assert scores.columns == OUT_COLUMNS
    names = load_model(model).names
    kept = scores.filter(~pl.col("excluded"))
    assert set(kept["segment_name"].to_list()) <= set(names)
    assert kept["segment"].null_count() == 0
    assert scores.filter(pl.col("excluded"))["exclusion_reason"].null_count() == 0
    assert f"scored {kept.height:,} customers" in stdout


LINK_LIKE = [
    "http://example.com/a?b=1",
    "file:///etc/passwd",
    "mailto:someone@example.com",
    "external:c:\\windows\\calc.exe",
    "=cmd|' /C calc'!A0",
    "United Kingdom",
]


def test_segment_and_score_write_xlsx_through_the_app_export(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --out x.xlsx was refused; the app's export (core.export) keeps text as text, no links.
    features = pl.read_parquet(data["features"])
    countries = [LINK_LIKE[i % len(LINK_LIKE)] for i in range(features.height)]
    source = tmp_path / "features.parquet"
    features.with_columns(country=pl.Series(countries)).write_parquet(source)
    model = tmp_path / "m.cseg"
    common = ["--k", "3", "--stability", "0"]
    for out in ("s.xlsx", "s.parquet"):
        argv = ["segment", str(source), *common, "--out", str(tmp_path / out)]
        assert _run([*argv, "--model", str(model)], capsys)[0] == 0
        argv = ["score", str(source), "--model", str(model), "--out", str(tmp_path / f"p{out}")]
        assert _run(argv, capsys)[0] == 0
    for xlsx, parquet in (("s.xlsx", "s.parquet"), ("ps.xlsx", "ps.parquet")):
        expected = pl.read_parquet(tmp_path / parquet)
        sheet = openpyxl.load_workbook(tmp_path / xlsx).active
        assert sheet is not None
        header = [cell.value for cell in sheet[1]]
        assert header == expected.columns
        rows = list(sheet.iter_rows(min_row=2))
        assert len(rows) == expected.height
        assert all(cell.hyperlink is None for row in rows for cell in row)
        for name in ("customer_id", "segment_name", "exclusion_reason", "country"):
            column = header.index(name)
            assert [row[column].value for row in rows] == expected[name].to_list(), name
        assert set(expected["country"]) == set(LINK_LIKE)


def _read_out(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, schema_overrides={"customer_id": pl.String})


def test_segment_and_score_write_every_customer_alike(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # segment used to drop the excluded customers and their two columns; score kept them.
    model, seg_out, score_out = tmp_path / "m.cseg", tmp_path / "s.csv", tmp_path / "sc.csv"
    argv = ["segment", str(data["csv"]), "--k", "3", "--stability", "0", "--out", str(seg_out)]
    assert _run([*argv, "--model", str(model)], capsys)[0] == 0
    argv = ["score", str(data["csv"]), "--model", str(model), "--out", str(score_out)]
    assert _run(argv, capsys)[0] == 0
    features = pl.read_parquet(data["features"])
    dropped = features.filter(pl.col("excluded"))
    assert dropped.height > 0  # the data has excluded customers
    for table in (_read_out(seg_out), _read_out(score_out)):
        assert table.columns == OUT_COLUMNS
        assert table["customer_id"].to_list() == features["customer_id"].to_list()
        assert table["excluded"].to_list() == features["excluded"].to_list()
        out = table.filter(pl.col("excluded"))
        assert out["segment"].null_count() == out["segment_name"].null_count() == out.height
        assert out["exclusion_reason"].to_list() == dropped["exclusion_reason"].to_list()
        kept = table.filter(~pl.col("excluded"))
        assert kept["segment"].null_count() == 0
        assert kept["exclusion_reason"].null_count() == kept.height


def test_segment_defaults_are_the_apps(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The command line chose k automatically (k = 2 on the default data); the app opens at 4.
    rep = tmp_path / "r.json"
    argv = ["segment", str(data["features"]), "--out", str(tmp_path / "o.csv")]
    code, _, stderr = _run([*argv, "--report", str(rep)], capsys)
    assert code == 0, stderr
    report = json.loads(rep.read_text())
    model, preprocess = ModelConfig(), PreprocessConfig()
    assert report["k"] == model.k == DEFAULT_K
    assert report["k_reason"].startswith(f"k = {DEFAULT_K} the default (as in the app)")
    assert report["method"].startswith(model.algorithm)
    assert report["features"] == list(preprocess.features)
    assert report["scaler"] == preprocess.scaler
    assert report["stability"]["runs"] == DEFAULT_STABILITY_REFITS


def _transactions(lines: int, seed: int) -> pl.DataFrame:
    """Transactions whose first lines carry whole prices only, then prices with cents."""
    rng = np.random.default_rng(seed)
    whole = np.arange(lines) < lines * 4 // 5
    cents = np.where(whole, rng.integers(1, 20, lines) * 100, rng.integers(101, 2_000, lines))
    price = [f"{c // 100}" if w else f"{c / 100:.2f}" for c, w in zip(cents, whole, strict=True)]
    day = rng.integers(0, 365, lines)
    return pl.DataFrame(
        {
            "InvoiceNo": [f"{500_000 + i // 3}" for i in range(lines)],
            "StockCode": [f"P{i % 97}" for i in range(lines)],
            "Quantity": rng.integers(1, 12, lines),
            "InvoiceDate": [f"2011-{1 + d // 31 % 12:02d}-{1 + d % 28:02d} 10:00" for d in day],
            "UnitPrice": price,
            "CustomerID": [f"{12_000 + (i // 3) % 300}" for i in range(lines)],
        }
    )


def test_decimal_comma_option_of_segment_and_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --decimal-comma was accepted and ignored by segment and score. The decimal comma is
    # detected from the file's first 256 KB: here they hold whole prices only, so only the
    # option reads the later "12,34" prices.
    frame = _transactions(10_000, seed=4)
    dot, comma = tmp_path / "dot.csv", tmp_path / "comma.csv"
    frame.write_csv(dot, separator=";")
    text = dot.read_text()
    assert text.index(".") > 256 * 1024  # the first decimal after what detection reads
    comma.write_text(re.sub(r"(\d)\.(\d)", r"\1,\2", text))
    outputs = {}
    for name, path in (("dot", dot), ("comma", comma)):
        extra = ["--decimal-comma"] if name == "comma" else []
        model, seg, scores = (tmp_path / f"{name}{ext}" for ext in (".cseg", "s.csv", "p.csv"))
        argv = ["segment", str(path), *extra, "--k", "3", "--stability", "0", "--out", str(seg)]
        code, _, stderr = _run([*argv, "--model", str(model)], capsys)
        assert code == 0, stderr
        argv = ["score", str(path), *extra, "--model", str(model), "--out", str(scores)]
        code, _, stderr = _run(argv, capsys)
        assert code == 0, stderr
        outputs[name] = (_read_out(seg), _read_out(scores))
    # The same rows (sums of floats may differ in the last bit: summation order).
    assert_frame_equal(outputs["comma"][0], outputs["dot"][0], check_exact=False)
    assert_frame_equal(outputs["comma"][1], outputs["dot"][1], check_exact=False)
    assert outputs["dot"][0].height == 300
    assert outputs["dot"][0]["monetary"].sum() == pytest.approx(
        (frame["Quantity"] * frame["UnitPrice"].cast(pl.Float64)).sum()
    )


def test_constant_feature_is_dropped_with_a_warning(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _features_with(data, "constant.parquet", n_products=7)
    argv = ["segment", str(path), "--k", "3", "--stability", "0", "--out", str(tmp_path / "o.csv")]
    argv += ["--features", "recency_days,frequency,monetary,n_products", "--report"]
    argv += [str(tmp_path / "r.json")]
    code, _, stderr = _run(argv, capsys)
    assert code == 0, stderr
    assert (
        "custseg: warning: feature 'n_products' has the same value (7) for every customer and "
        "was dropped"
    ) in stderr
    assert stderr.count("'n_products' has the same value") == 1  # once, not per fit
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["dropped_constant_features"] == ["n_products"]
    assert report["features"] == ["recency_days", "frequency", "monetary"]


def _error(argv: list[str], capsys: pytest.CaptureFixture[str], message: str) -> tuple[str, str]:
    code, stdout, stderr = _run(argv, capsys)
    assert code == 2, (stdout, stderr)
    errors = [line for line in stderr.splitlines() if line.startswith("custseg: error: ")]
    assert len(errors) == 1, stderr
    assert message in errors[0], stderr
    assert "custseg: how to fix: " in stderr
    assert "Traceback" not in stderr
    return stdout, stderr


def test_error_fewer_customers_than_k(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "two.csv"
    src.write_text(UCI_HEADER + TWO_CUSTOMERS)
    argv = ["segment", str(src), "--k", "4", "--out", str(tmp_path / "o.csv")]
    _error(argv, capsys, "only 2 customers to cluster but k = 4 segments were requested")
    argv = ["segment", str(src), "--k", "auto", "--out", str(tmp_path / "o.csv")]
    _error(argv, capsys, "only 2 distinct customer(s) on the chosen features")


def test_error_all_customers_identical(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _features_with(data, "same.parquet", recency_days=5, frequency=2, monetary=100.0)
    out = str(tmp_path / "o.csv")
    _error(["segment", str(path), "--k", "3", "--out", out], capsys, "are identical")
    argv = ["segment", str(path), "--k", "auto", "--out", out]
    _error(argv, capsys, "only 1 distinct customer(s)")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--k", "31"], "k = 31 is out of range (2..30)"),
        (["--k", "1"], "k = 1 is out of range (2..30)"),
        (["--k", "0"], "k = 0 is out of range (2..30)"),
        (["--k", "four"], "--k must be 'auto' or a whole number, got 'four'"),
        (["--features", "recency_days,spend"], "unknown feature(s) 'spend'"),
        (["--features", " , "], "--features needs at least one feature name"),
        (["--algorithm", "dbscan"], "unknown algorithm 'dbscan'"),
        (["--algorithm", "hdbscan", "--k", "4"], "--k 4 cannot be used with --algorithm hdbscan"),
        (["--linkage", "single"], "unknown linkage 'single'"),
        (["--scaler", "log"], "unknown scaler 'log'"),
        (["--stability", "1"], "stability refits must be 0 (skip) or a number of refits 2..200"),
    ],
)
def test_error_bad_options(
    data: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    message: str,
) -> None:
    out = tmp_path / "o.csv"
    _error(["segment", str(data["features"]), *options, "--out", str(out)], capsys, message)
    assert not out.exists()


def test_error_bad_paths(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = str(data["features"])
    _error(["segment", src, "--out", str(tmp_path / "o.txt")], capsys, "unsupported extension")
    _error(["segment", src, "--out", str(tmp_path / "o.csv"), "--model", str(tmp_path / "x" / "m")],
           capsys, "the folder for --model")  # fmt: skip
    _error(["segment", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.csv")], capsys,
           "File not found")  # fmt: skip


def test_error_unreadable_feature_table(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = pl.read_parquet(data["features"]).with_columns(pl.col("recency_days").cast(pl.String))
    path = tmp_path / "features.csv"
    table.with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.lit("abc"))
        .otherwise(pl.col("recency_days"))
        .alias("recency_days")
    ).write_csv(path)
    argv = ["segment", str(path), "--out", str(tmp_path / "o.csv")]
    _, stderr = _error(
        argv, capsys, "'features.csv' looks like a customer feature table but cannot be read"
    )
    assert "`abc`" in stderr


@pytest.mark.parametrize(
    "model",
    [
        ModelConfig(algorithm="kmeans", k=4),
        ModelConfig(algorithm="minibatch", k=4),
        ModelConfig(algorithm="gmm", k=3),
        ModelConfig(algorithm="hierarchical", k=4, linkage="average"),
        ModelConfig(algorithm="hdbscan", k=None, min_cluster_size=20),
    ],
    ids=["kmeans", "minibatch", "gmm", "hierarchical", "hdbscan"],
)
def test_score_with_a_saved_model_gives_the_in_memory_labels(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], model: ModelConfig
) -> None:
    # Model files hold data (JSON + arrays), rebuilt on load: the same labels as before saving.
    features = pl.read_parquet(data["features"])
    preprocess = PreprocessConfig(features=("recency_days", "frequency", "monetary", "tenure_days"))
    result = segment_customers(features, preprocess=preprocess, model=model, data_key="f" * 64)
    path = save_model(result, tmp_path / "m.cseg")
    out = tmp_path / "scores.parquet"
    code, _, stderr = _run(["score", str(data["csv2"]), "--model", str(path), "--out", str(out)],
                           capsys)  # fmt: skip
    assert code == 0, stderr
    new = pl.read_parquet(out)
    expected = score_customers(result, new.drop("segment", "segment_name"))
    assert new["customer_id"].to_list() == expected["customer_id"].to_list()
    assert new["segment"].to_list() == expected["segment"].to_list()
    assert new["segment_name"].to_list() == expected["segment_name"].to_list()
    assert new.filter(~pl.col("excluded"))["segment"].n_unique() > 1


class _Planted:
    """Unpickling this creates a marker file: what a planted pickle could do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (Path.touch, (self.marker,))


def test_score_refuses_a_planted_pickle(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A pickle behind a recomputed SHA-256 ran its code in `custseg score` (issue 12).
    features = pl.read_parquet(data["features"])
    result = segment_customers(
        features, preprocess=PreprocessConfig(), model=ModelConfig(k=3), data_key="f" * 64
    )
    path = save_model(result, tmp_path / "m.cseg")
    marker = tmp_path / "ran"
    payload = pickle.dumps(_Planted(marker))
    saved = read_header(path)
    for version in (1, saved["format_version"]):
        header = {
            **saved,
            "format_version": version,
            "payload_bytes": len(payload),
            "payload_sha256": hashlib.sha256(payload).hexdigest(),
        }
        path.write_bytes(MAGIC + json.dumps(header).encode() + b"\n" + payload)
        argv = ["score", str(data["csv2"]), "--model", str(path), "--out"]
        _error([*argv, str(tmp_path / "o.csv")], capsys, "model file 'm.cseg'")
        assert not marker.exists()
        assert not (tmp_path / "o.csv").exists()


def test_error_model_file_that_is_not_one(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["score", str(data["csv2"]), "--model", str(data["csv"]), "--out"]
    _error([*argv, str(tmp_path / "o.csv")], capsys, "'t.csv' is not a custseg model file")
    missing = ["score", str(data["csv2"]), "--model", str(tmp_path / "none.cseg"), "--out"]
    _error([*missing, str(tmp_path / "o.csv")], capsys, "not found")


def test_errors_through_the_real_entry_point(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "core.cli", "segment", str(tmp_path / "x.csv")),
            *("--k", "0", "--out", str(tmp_path / "o.csv")),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("custseg: error: k = 0 is out of range"), done.stderr
    assert "Traceback" not in done.stderr
