"""Data page callbacks called as plain functions (no browser), and over HTTP for sessions.

Outputs are read by name: the keys of the dicts the callbacks return."""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.request
from pathlib import Path
from typing import Any

import flask
import polars as pl
import pytest
from dash import Dash, no_update
from dash.exceptions import PreventUpdate
from werkzeug.serving import make_server

from core.cli import main
from core.columns import ROLES
from dashapp.pages.data import callbacks as page
from dashapp.pages.data import ids
from dashapp.pages.data.layout import MAPPING_HELP, MAPPING_TITLE
from dashapp.services import DEFAULT_DATASET, AppServices, DatasetSource
from dashapp.shared.loading import data_view, session_table
from dashapp.state import (
    TOGGLEABLE_RULES,
    SessionState,
    new_state,
    parse_state,
    require_state,
)
from tests.core import cdnow
from tests.core.test_feature_source import spark_layout
from tests.dashapp.helpers import (
    as_json,
    callback_body,
    data_url,
    nodes,
    post_callback,
    sales_csv,
    table_cells,
    texts,
)

pytestmark = pytest.mark.usefixtures("app_ctx")

ROLE_IDS = [ids.role_dropdown(r) for r in ROLES]


def upload(state: SessionState, data: bytes, name: str = "sales.csv") -> dict[str, Any]:
    """The upload callback's outputs: ``session``, ``alert``, ``contents``."""
    return page.upload_file(data_url(data), name, state.to_json())


def controls(
    state: SessionState,
    mapping: dict[str, str | None],
    *,
    date_format: str | None = None,
    rules: list[str] | None = None,
) -> Any:
    return page.apply_controls(
        [mapping.get(r) for r in ROLES],
        [date_format or ""],
        [list(TOGGLEABLE_RULES) if rules is None else rules],
        ROLE_IDS,
        state.to_json(),
    )


def outputs(state: SessionState) -> dict[str, Any]:
    """The render callback's outputs by name."""
    return page.render(state.to_json())


def test_render_default_dataset(services: AppServices) -> None:
    state = new_state(services)
    out = outputs(state)
    view = data_view(state, services)
    assert view.error is None
    assert view.table is not None
    # The callback returns exactly what the pure builders make from the same view.
    assert as_json(page.render_view(view, state)) == as_json(out)
    assert list(out) == list(page.render_outputs())  # one value per registered output
    funnel = out["audit_funnel"]
    assert funnel.data[0].x[0] == view.table.audit.rows_in
    assert funnel.data[0].x[-1] == view.table.audit.rows_kept
    form = as_json(out["mapping_form"])
    dropdowns = [node["props"] for node in nodes(form) if node["type"] == "Dropdown"]
    values = {props["id"]["role"]: props["value"] for props in dropdowns}
    assert values["customer"] == "CustomerID"
    assert values["date"] == "InvoiceDate"
    assert len(table_cells(out["preview"])) == 1 + 100  # the header, then 100 lines
    # The tests start the app on their own file, not the embedded sample.
    assert "server data" in texts(as_json(out["summary"]))


def test_upload_good_csv_switches_dataset(services: AppServices) -> None:
    state = new_state(services)
    result = upload(state, sales_csv(), "march sales.csv")
    assert result["contents"] is None  # the browser's copy of the file is released
    new = parse_state(result["session"], services)
    assert new.dataset != DEFAULT_DATASET
    assert new.filename == "march sales.csv"
    assert services.registry.owns(state.session_id, new.dataset)
    assert "alert-success" in result["alert"].className
    assert result["alert"].role == "status"  # news, read politely (errors are role="alert")
    out = outputs(new)
    table_text = texts(as_json(out["audit_table"]))
    assert "36 of 36" in table_text  # 6 customers x 3 orders x 2 lines, all kept
    summary = texts(as_json(out["summary"]))
    assert "march sales.csv" in summary
    assert "server data" not in summary
    # 6 customers over three weeks: the sufficiency warnings say so.
    warnings = texts(as_json(out["sufficiency"]))
    assert "6" in warnings
    assert "Enough data" not in warnings


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"\x00\x01\x02\xff" * 300, "sales.csv", "binary"),
        (b"Invoice,Customer,Date\n", "header.csv", "no data rows"),
        (b"PK\x03\x04 not really a zip", "book.xlsx", "xlsx"),
        # A quote never closed: the csv module's field limit (a 500 before).
        (b'customer,date,amount\n"' + b"x" * 140_000 + b"\n", "quote.csv", "quote"),
    ],
)
def test_broken_upload_keeps_the_loaded_data(
    services: AppServices, content: bytes, name: str, expected: str
) -> None:
    state = new_state(services)
    result = upload(state, content, name)
    assert result["session"] is no_update  # the dataset on screen stays
    assert result["contents"] is None
    assert result["alert"].color == "danger"
    shown = texts(as_json(result["alert"]))
    assert "How to fix" in shown
    assert expected.lower() in shown.lower()
    assert services.registry.datasets(state.session_id) == []


def test_upload_over_the_limit_is_refused_on_the_server(services: AppServices) -> None:
    big = b"a,b\n" + b"1,2\n" * (services.max_upload_bytes // 4 + 10)
    result = upload(new_state(services), big, "big.csv")
    assert result["session"] is no_update
    assert "up to 1 MB" in texts(as_json(result["alert"]))


def test_upload_with_a_forged_token_does_nothing(services: AppServices) -> None:
    state = new_state(services).to_json()
    state["token"] = "0" * 32 + "." + "0" * 64
    with pytest.raises(PreventUpdate):
        page.upload_file(data_url(sales_csv()), "x.csv", state)


def test_report_rejected_explains_the_limit() -> None:
    alert = page.report_rejected({"name": "huge.csv", "size": 300 * 1024**2, "at": 1})
    shown = texts(as_json(alert))
    assert "'huge.csv' is 300.0 MB" in shown
    assert "up to 1 MB" in shown
    for bad in (None, {"name": "x"}, {"name": "x", "size": "big"}, {"name": "x", "size": -1}):
        with pytest.raises(PreventUpdate):
            page.report_rejected(bad)


def test_fix_a_mapping_the_detection_missed(services: AppServices) -> None:
    state = new_state(services)
    data = upload(state, sales_csv(customer_header="Who"), "who.csv")["session"]
    state = parse_state(data, services)
    out = outputs(state)
    problem = texts(as_json(out["mapping_alert"]))
    assert "customer" in problem
    assert "How to fix" in problem
    assert out["audit_funnel"].data == ()
    assert len(table_cells(out["preview"])) > 1  # the rows are still shown, to help choose
    detected = data_view(state, services).detected
    assert "customer" not in detected
    fixed = parse_state(controls(state, {**detected, "customer": "Who"}), services)
    assert fixed.mapping is not None
    assert fixed.mapping["customer"] == "Who"
    out = outputs(fixed)
    assert not out["mapping_alert"] or "How to fix" not in texts(as_json(out["mapping_alert"]))
    assert out["audit_funnel"].data[0].x[-1] == 36
    assert "changed" in texts(as_json(out["mapping_form"]))


def test_amount_only_file_hints_and_price_warning(services: AppServices) -> None:
    # CDNOW-like: the dollar value is the line's total, detected as the line amount.
    state = parse_state(
        upload(new_state(services), cdnow.csv_text(), "cdnow.csv")["session"], services
    )
    view = data_view(state, services)
    assert view.mapping.get("amount") == "dollar_value"
    assert view.table is not None
    assert view.table.audit.revenue_kept == pytest.approx(cdnow.REVENUE)
    assert "Check the mapping" not in texts(as_json(outputs(state)["mapping_alert"]))
    # Mapped as quantity x unit price instead, as a user might: accepted, with a warning.
    trap = {**view.mapping, "amount": None, "price": "dollar_value"}
    wrong = parse_state(controls(state, trap), services)
    alert = texts(as_json(outputs(wrong)["mapping_alert"]))
    assert "Check the mapping: the unit price is mapped to 'dollar_value'" in alert
    # A file whose amount column is not recognised: the hint names both routes.
    header = ("customer_id", "date", "cds", "paid")
    data = upload(state, cdnow.csv_text(header), "paid.csv")["session"]
    alert = texts(as_json(outputs(parse_state(data, services))["mapping_alert"]))
    assert "How to fix" in alert
    assert "line amount (the line's total) in the amount dropdown" in alert
    assert "quantity x unit price in the quantity dropdown" in alert
    assert "in the price dropdown" in alert


def test_spaced_file_without_header_loads_and_an_unreadable_one_keeps_the_data(
    services: AppServices,
) -> None:
    state = new_state(services)
    out = upload(state, b"just some notes\nnothing tabular here at all\n", "notes.txt")
    assert out["session"] is no_update  # the data on screen stays
    assert "single column" in texts(as_json(out["alert"]))
    data = upload(state, cdnow.master_text(), "CDNOW_master.txt")["session"]
    loaded = parse_state(data, services)
    view = data_view(loaded, services)
    assert view.columns == ("column_1", "column_2", "column_3", "column_4")
    assert "column_1" in texts(as_json(outputs(loaded)["mapping_alert"]))
    mapping = {"customer": "column_1", "date": "column_2", "amount": "column_4"}
    mapped = parse_state(controls(loaded, mapping), services)
    table = data_view(mapped, services).table
    assert table is not None
    assert table.audit.revenue_kept == pytest.approx(cdnow.REVENUE)
    assert table.n_customers == cdnow.KEPT_CUSTOMERS


def test_controls_keep_detection_until_the_mapping_changes(services: AppServices) -> None:
    state = new_state(services)
    detected = data_view(state, services).detected
    # The rendered controls fire with the detected mapping: nothing changes.
    with pytest.raises(PreventUpdate):
        controls(state, detected)
    off = parse_state(controls(state, detected, rules=["non_product", "duplicate"]), services)
    assert off.mapping is None
    assert off.cleaning_config().missing_customer is False
    assert off.cleaning_config().cancellation is False
    audit = data_view(off, services).table.audit  # type: ignore[union-attr]
    assert audit.dropped("missing_customer") == 0
    assert audit.dropped("cancellation") == 0
    dated = parse_state(controls(state, detected, date_format=" %Y-%m-%d "), services)
    assert dated.date_format == "%Y-%m-%d"


@pytest.mark.parametrize(
    "args",
    [
        ([None] * len(ROLES), [""], [["missing_customer", "drop_tables"]], ROLE_IDS),
        ([None] * len(ROLES), [""], [[]], [{"type": ids.ROLE_TYPE, "role": "owner"}] * 9),
        (["x"] * 3, [""], [[]], ROLE_IDS),
        ([None] * len(ROLES), ["%d" * 200], [[]], ROLE_IDS),
        ([None] * len(ROLES), "text", [[]], ROLE_IDS),
        # Values the page never sends and Python cannot hash (a 500 before).
        ([None] * len(ROLES), [""], [[[[[[]]]]]], ROLE_IDS),
        ([None] * len(ROLES), [""], [[{"rule": 1}]], ROLE_IDS),
        ([None] * len(ROLES), [""], [[]], [{"type": ids.ROLE_TYPE, "role": ["customer"]}] * 9),
    ],
)
def test_controls_refuse_tampered_values(services: AppServices, args: tuple[Any, ...]) -> None:
    with pytest.raises(PreventUpdate):
        page.apply_controls(*args, new_state(services).to_json())


def test_a_bad_date_format_is_explained(services: AppServices) -> None:
    state = new_state(services)
    detected = data_view(state, services).detected
    data = upload(state, sales_csv(), "s.csv")["session"]
    state = parse_state(data, services)
    bad = parse_state(controls(state, detected, date_format="%d.%m.%Y"), services)
    out = outputs(bad)
    assert "How to fix" in texts(as_json(out["mapping_alert"]))


def test_the_same_bytes_from_another_session_never_relabel_or_delete_an_upload(
    services: AppServices,
) -> None:
    content = sales_csv(prefix="S")
    alice, bob = new_state(services), new_state(services)
    alice = parse_state(upload(alice, content, "alice march.csv")["session"], services)
    bob = parse_state(upload(bob, content, "bob copy.tsv")["session"], services)
    assert alice.dataset == bob.dataset  # one content key, one file on disk
    assert data_view(alice, services).filename == "alice march.csv"
    assert data_view(bob, services).filename == "bob copy.tsv"
    # Bob sends the same bytes under a suffix the readers refuse: refused for him only.
    refused = upload(bob, content, "same bytes.exe")
    assert refused["alert"].color == "danger"
    assert "unsupported file type" in texts(as_json(refused["alert"]))
    for state, name in ((alice, "alice march.csv"), (bob, "bob copy.tsv")):
        view = data_view(state, services)
        assert view.error is None
        assert view.filename == name
    assert "alice march.csv" in texts(as_json(outputs(alice)["summary"]))


def test_two_sessions_uploading_at_once_see_only_their_own(
    app: Dash, server: flask.Flask, services: AppServices
) -> None:
    sessions = {"alpha": new_state(services), "beta": new_state(services)}
    files = {"alpha": sales_csv(prefix="A"), "beta": sales_csv(prefix="B", customers=4)}
    results: dict[str, tuple[int, Any]] = {}
    start = threading.Barrier(2)

    def send(name: str) -> None:
        client = server.test_client()
        start.wait()
        results[name] = post_callback(
            client,
            app,
            "upload_file",
            [data_url(files[name])],
            [f"{name}.csv", sessions[name].to_json()],
        )

    threads = [threading.Thread(target=send, args=(n,)) for n in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    states = {}
    for name, (status, payload) in results.items():
        assert status == 200, payload
        states[name] = parse_state(payload["response"]["session-store"]["data"], services)
        assert states[name].filename == f"{name}.csv"
    client = server.test_client()
    for name, other in (("alpha", "beta"), ("beta", "alpha")):
        status, payload = post_callback(client, app, "render", [states[name].to_json()])
        assert status == 200
        header, *preview = table_cells(payload["response"]["preview"]["children"])
        ids_seen = {row[header.index("Customer → customer")] for row in preview}
        assert ids_seen == {f"{name[0].upper()}{c:03d}" for c in range(6 if name == "alpha" else 4)}
        # Sending the other session's dataset key with one's own token is refused...
        stolen = {**states[name].to_json(), "dataset": states[other].dataset}
        status, _ = post_callback(client, app, "render", [stolen])
        assert status == 204
        # ... and the session is reset to the default data, not to the other's upload.
        status, payload = post_callback(client, app, "ensure_session", [stolen])
        reset = parse_state(payload["response"]["session-store"]["data"], services)
        assert reset.dataset == DEFAULT_DATASET


def test_a_long_load_does_not_block_other_sessions(
    app: Dash, server: flask.Flask, services: AppServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Session A's render is held inside the pipeline; session B is served meanwhile."""
    slow, fast = new_state(services), new_state(services)
    entered, release = threading.Event(), threading.Event()
    real_view = page.data_view

    def held_view(state: SessionState, services: AppServices) -> Any:
        if state.session_id == slow.session_id:
            entered.set()
            assert release.wait(timeout=60)
        return real_view(state, services)

    monkeypatch.setattr(page, "data_view", held_view)
    http = make_server("127.0.0.1", 0, server, threaded=True)
    serving = threading.Thread(target=http.serve_forever, daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{http.server_port}/_dash-update-component"

    def post(state: SessionState) -> int:
        body = json.dumps(callback_body(app, "render", [state.to_json()])).encode()
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)

    statuses: dict[str, int] = {}
    slow_thread = threading.Thread(target=lambda: statuses.update(slow=post(slow)))
    try:
        slow_thread.start()
        assert entered.wait(timeout=60)
        assert post(fast) == 200  # served while the slow load is still held
        assert slow_thread.is_alive()
        assert "slow" not in statuses
    finally:
        release.set()
        slow_thread.join(timeout=60)
        http.shutdown()
        http.server_close()
    assert statuses == {"slow": 200}


def test_require_state_stops_on_invalid_state(services: AppServices) -> None:
    assert require_state(new_state(services).to_json()).dataset == DEFAULT_DATASET
    with pytest.raises(PreventUpdate):
        require_state({"token": "x"})


def test_ambiguous_dates_are_flagged_and_can_be_overridden(services: AppServices) -> None:
    rows = ["Invoice,Customer,Date,Qty,UnitPrice"]
    for i, day in enumerate(range(1, 13)):
        rows.append(f"{100 + i},C{i % 3},{day:02d}/03/2011,1,5.0")
    data = upload(new_state(services), ("\n".join(rows) + "\n").encode(), "amb.csv")["session"]
    state = parse_state(data, services)
    view = data_view(state, services)
    assert view.date_ambiguous
    assert "both as day/month" in texts(as_json(outputs(state)["date_info"]))
    chosen = parse_state(controls(state, view.detected, date_format="%d/%m/%Y"), services)
    table = session_table(chosen, services)
    assert table.features["first_purchase"].min().month == 3  # type: ignore[union-attr]
    assert "both as day/month" not in texts(as_json(outputs(chosen)["date_info"]))


@pytest.mark.parametrize("first_page", ["data", "other"])
def test_a_loaded_table_prefetches_its_product_lines_once(
    services: AppServices, monkeypatch: pytest.MonkeyPatch, first_page: str
) -> None:
    """Whichever page loads a table first (the Data page, or another page's
    ``session_table``: a Model link opened cold) starts encoding its lines for the top
    products on a thread; showing it again, and the fits, reuse that one encoding."""
    from core.clustering import products
    from dashapp.shared.modeling import product_lines

    calls: list[int] = []
    real = products.encode

    def counted(lines: Any) -> Any:
        calls.append(1)
        return real(lines)

    monkeypatch.setattr(products, "encode", counted)
    # A file of its own: no earlier test has encoded its lines in this process.
    prefix = "PF" if first_page == "data" else "PO"
    csv = sales_csv(prefix=prefix, customers=12)
    uploaded = upload(new_state(services), csv, f"{prefix.lower()}.csv")
    state = parse_state(uploaded["session"], services)
    if first_page == "data":
        outputs(state)
    table = session_table(state, services)
    lines = product_lines(table, services)
    assert lines is not None
    assert table.product_codes is lines  # the engine's codes, no line read back
    assert lines.encode_in_background() is False  # started when the table was loaded
    outputs(state)
    assert lines.codes is not None
    assert product_lines(table, services) is lines  # what a fit uses
    assert calls == [1]


def test_a_feature_table_says_what_it_is_instead_of_mapping_help(
    services: AppServices,
    small_default: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A segment table as Spark writes it: no mapping help, no "Not mapped" caption; what it
    holds (customers, columns, the segment columns left out) and its analysis date instead."""
    out = tmp_path / "features.parquet"
    assert main(["features", str(small_default), "--out", str(out)]) == 0
    features = pl.read_parquet(out).with_columns(
        pl.lit(1, dtype=pl.Int64).alias("segment"), pl.lit("A").alias("segment_name")
    )
    folder = spark_layout(features, tmp_path / "by_spark", parts=2)
    dataset = DatasetSource(key=DEFAULT_DATASET, path=folder, filename=folder.name)
    monkeypatch.setattr(AppServices, "source", lambda self, key, session_id: dataset)
    state = new_state(services)
    rendered = outputs(state)
    assert list(rendered) == list(page.render_outputs())
    shown = {name: texts(as_json(value)) for name, value in rendered.items()}
    everything = " ".join(shown.values())
    assert "required" not in everything
    assert "Not mapped" not in everything
    assert "Headers show the role" not in everything
    n, excluded = features.height, int(features["excluded"].sum())
    assert shown["mapping_help"] == (
        f"A customer feature table: one row per customer ({n:,} customers, {excluded:,} "
        f"excluded), {features.width} columns. No columns to map: its lines were mapped, "
        "cleaned and audited where it was written. Left out: segment, segment_name (the app "
        "fits its own segments on the features)."
    )
    assert shown["mapping_form"] == shown["mapping_alert"] == ""
    assert shown["mapping_title"] == "Dataset"
    day = pl.read_parquet(out).select(pl.col("last_purchase").max()).item()
    assert f"Analysis date {day + dt.timedelta(days=1):%Y-%m-%d}" in shown["date_info"]
    assert shown["preview_caption"] == (
        f"The first {min(n, 100)} of {n:,} customers, one row each, by customer id."
    )
    assert len(table_cells(rendered["preview"])) == 1 + min(n, 100)
    # Transactions keep their mapping help.
    monkeypatch.undo()
    lines = outputs(new_state(services))
    assert (lines["mapping_title"], lines["mapping_help"]) == (MAPPING_TITLE, MAPPING_HELP)
