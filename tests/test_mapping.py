"""Column mappings: renames and conversions, mapping files, the handbook dataset, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batch_support import HANDBOOK, RULES, history, model, rules
from radarcore import ColumnMapping, SchemaError, score_files, score_table
from radarcore.cli import main
from radarcore.mapping import bundled_mappings


def test_apply_converts_time_amounts_and_ids() -> None:
    table = pa.table(
        {
            "TX": pa.array([1, 2, 3], pa.int64()),
            "WHEN": pa.array(
                np.array(["2018-04-01T00:00:07", "2018-04-01T01:00:00", "2018-04-02"], "M8[ns]")
            ),
            "EUR": [12.345, 0.5, None],
            "CUR": ["eur", "JPY", "usd"],
            "note": ["a", "b", "c"],
        }
    )
    mapping = ColumnMapping(
        columns={"id": "TX", "created": "WHEN", "amount": "EUR", "currency": "CUR"}
    )
    out = mapping.apply(table)
    assert out.column_names == ["note", "id", "created", "amount", "currency"]
    assert out.column("id").to_pylist() == ["1", "2", "3"]
    assert out.column("created").to_pylist() == [1522540807, 1522544400, 1522627200]
    assert out.column("amount").to_pylist() == [1235, 1, None]
    assert out.column("note").to_pylist() == ["a", "b", "c"]


def test_one_column_for_two_fields_and_constants() -> None:
    mapping = ColumnMapping(
        columns={"card_fingerprint": "C", "customer": "C"}, constants={"currency": "usd"}
    )
    out = mapping.apply(pa.table({"C": [4, 5]}))
    assert out.column("card_fingerprint").to_pylist() == ["4", "5"]
    assert out.column("customer").to_pylist() == ["4", "5"]
    assert out.column("currency").to_pylist() == ["usd", "usd"]


@pytest.mark.parametrize(
    ("columns", "constants", "message"),
    [
        ({"card": "X"}, {}, "card: not an event field"),
        ({}, {"colour": "red"}, "colour: not an event field"),
        ({"email": ""}, {}, "email: must map to a column name"),
        ({"currency": "C"}, {"currency": "usd"}, "currency: mapped to a column and to a constant"),
    ],
)
def test_bad_mappings(columns: dict[str, str], constants: dict[str, str], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        ColumnMapping(columns=columns, constants=constants)


def test_apply_errors_name_the_column() -> None:
    with pytest.raises(SchemaError, match="id: mapped column 'TX' is missing from the input"):
        ColumnMapping(columns={"id": "TX"}).apply(pa.table({"id": ["a"]}))
    with pytest.raises(SchemaError, match="id: the input has it both mapped and by its own name"):
        ColumnMapping(columns={"id": "TX"}).apply(pa.table({"id": ["a"], "TX": ["b"]}))
    with pytest.raises(SchemaError, match="amount: major units need a currency"):
        ColumnMapping().apply(pa.table({"amount": [1.5]}))
    with pytest.raises(SchemaError, match="currency: unknown currency 'xxx'"):
        ColumnMapping(constants={"currency": "xxx"}).apply(pa.table({"amount": [1.5]}))


def test_files_and_options(tmp_path: Path) -> None:
    expected = ColumnMapping(columns={"merchant": "T"}, constants={"currency": "eur"})
    (tmp_path / "m.toml").write_text('[columns]\nmerchant = "T"\n[constants]\ncurrency = "eur"\n')
    (tmp_path / "m.json").write_text(
        json.dumps({"columns": {"merchant": "T"}, "constants": {"currency": "eur"}})
    )
    assert ColumnMapping.load(tmp_path / "m.toml") == expected
    assert ColumnMapping.load(tmp_path / "m.json") == expected
    assert ColumnMapping.from_options(["merchant=T"], ["currency=eur"]) == expected
    over = ColumnMapping.from_options(["currency=CUR"], base=expected)
    assert over.columns == {"merchant": "T", "currency": "CUR"}
    assert over.constants == {}

    (tmp_path / "bad.toml").write_text("[columns\n")
    with pytest.raises(SchemaError, match=r"bad\.toml: not a valid mapping file"):
        ColumnMapping.load(tmp_path / "bad.toml")
    (tmp_path / "bad.json").write_text('{"rows": {}}')
    with pytest.raises(SchemaError, match=r"bad\.json: mapping: unknown section 'rows'"):
        ColumnMapping.load(tmp_path / "bad.json")
    (tmp_path / "m.yaml").write_text("columns: {}")
    with pytest.raises(SchemaError, match=r"must end in \.toml or \.json"):
        ColumnMapping.load(tmp_path / "m.yaml")
    with pytest.raises(SchemaError, match="expected field=value, got 'merchant'"):
        ColumnMapping.from_options(["merchant"])


def test_bundled_mappings() -> None:
    assert bundled_mappings() == ["fraud_detection_handbook"]
    mapping = ColumnMapping.bundled("fraud_detection_handbook")
    assert mapping.columns["card_fingerprint"] == "CUSTOMER_ID"
    assert mapping.columns["merchant"] == "TERMINAL_ID"
    with pytest.raises(SchemaError, match="no bundled mapping 'nope'; bundled: fraud_detection"):
        ColumnMapping.bundled("nope")


def test_handbook_dataset_scores_through_the_mapping(tmp_path: Path) -> None:
    handbook = pq.ParquetFile(HANDBOOK)
    head = pa.Table.from_batches([next(handbook.iter_batches(batch_size=4_000))])
    pq.write_table(head, tmp_path / "handbook.parquet", row_group_size=1_000)
    mapping = ColumnMapping.bundled("fraud_detection_handbook")
    rows = score_files(
        tmp_path / "handbook.parquet",
        tmp_path / "out.parquet",
        model=model(),
        rules=rules(),
        mapping=mapping,
    )
    out = pq.read_table(tmp_path / "out.parquet")
    assert rows == 4_000
    assert out.column_names[0] == "TRANSACTION_ID"
    assert out.column("TRANSACTION_ID").equals(head.column("TRANSACTION_ID"))
    renamed = pa.table(
        {
            "id": pa.array([str(v) for v in head.column("TRANSACTION_ID").to_pylist()]),
            "created": head.column("TX_DATETIME").cast(pa.timestamp("s")).cast(pa.int64()),
            "amount": pa.array(
                [int(np.floor(v * 100 + 0.5)) for v in head.column("TX_AMOUNT").to_pylist()]
            ),
            "currency": pa.array(["eur"] * head.num_rows),
            "card_fingerprint": head.column("CUSTOMER_ID").cast(pa.string()),
            "customer": head.column("CUSTOMER_ID").cast(pa.string()),
            "merchant": head.column("TERMINAL_ID").cast(pa.string()),
            "outcome": pa.array(["authorized"] * head.num_rows),
        }
    )
    by_hand = score_table(renamed, model=model(), rules=rules())
    assert out.drop_columns(["TRANSACTION_ID"]).equals(by_hand.drop_columns(["id"]))
    counts = out.column("risk_score").to_numpy()
    assert counts.min() >= 0
    assert counts.max() <= 100


def test_cli_scores_with_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    payments = (
        history()
        .slice(0, 300)
        .rename_columns(["PAYMENT" if n == "id" else n for n in history().column_names])
    )
    pq.write_table(payments, tmp_path / "in.parquet")
    model().save(tmp_path / "model.rcm")
    (tmp_path / "rules.txt").write_text(RULES)
    status = main(
        [
            "score",
            str(tmp_path / "in.parquet"),
            "-o",
            str(tmp_path / "out.parquet"),
            "--model",
            str(tmp_path / "model.rcm"),
            "--rules",
            str(tmp_path / "rules.txt"),
            "--map",
            "id=PAYMENT",
            "--contributions",
            "2",
            "--threads",
            "3",
            "--quiet",
        ]
    )
    assert status == 0
    expected = score_table(history().slice(0, 300), model=model(), rules=rules(), contributions=2)
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column_names[0] == "PAYMENT"
    assert out.drop_columns(["PAYMENT"]).equals(expected.drop_columns(["id"]))

    status = main(
        [
            "score",
            str(tmp_path / "in.parquet"),
            "-o",
            str(tmp_path / "bad.parquet"),
            "--model",
            str(tmp_path / "model.rcm"),
            "--quiet",
        ]
    )
    assert status == 2
    error = capsys.readouterr().err
    assert error.startswith("radarcore score: error: ")
    assert "in.parquet: id: required column is missing" in error
    assert not (tmp_path / "bad.parquet").exists()
