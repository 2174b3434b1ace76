"""Batch scoring: one-by-one equality, streaming equality, input forms and rejected inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as csv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batch_support import history, model, online, rules
from radarcore import (
    FeatureExtractor,
    InputError,
    ModelError,
    SchemaError,
    score_files,
    score_table,
)
from radarcore.batch import (
    WARMUP_SECONDS,
    long_window_columns,
    reads_long_windows,
    rule_attributes,
)
from radarcore.models import RiskModel

OUTPUT = ["id", "risk_score", "risk_level", "action", "rule_id"]


def test_batch_equals_one_by_one() -> None:
    payments = history().slice(0, 600)
    out = score_table(payments, model=model(), rules=rules())
    expected = online(payments, model(), rules())
    assert out.column_names == OUTPUT
    assert out.column("id").to_pylist() == payments.column("id").to_pylist()
    assert out.column("risk_score").to_pylist() == expected["score"]
    assert out.column("risk_level").to_pylist() == expected["level"]
    assert out.column("action").to_pylist() == expected["action"]
    assert out.column("rule_id").to_pylist() == expected["rule"]
    assert len(set(expected["action"])) >= 3, "the rules must decide several ways to test them"


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 300))
def test_shuffled_input_gives_the_same_rows(seed: int, size: int) -> None:
    payments = history().slice(0, size)
    order = np.random.default_rng(seed).permutation(size)
    shuffled = payments.take(pa.array(order))
    out = score_table(payments, model=model(), rules=rules())
    mixed = score_table(shuffled, model=model(), rules=rules())
    assert mixed.equals(out.take(pa.array(order)))


def test_pandas_and_polars_inputs_equal_arrow() -> None:
    payments = history().slice(0, 300)
    out = score_table(payments, model=model(), rules=rules())
    import polars as pl

    for table in (payments.to_pandas(), pl.from_arrow(payments)):
        scored = score_table(table, model=model(), rules=rules())
        assert scored.drop_columns(["id"]).equals(out.drop_columns(["id"]))
        assert scored.column("id").to_pylist() == out.column("id").to_pylist()


def _reference_top(matrix: np.ndarray, k: int) -> tuple[list[list[str]], list[list[float]]]:
    names = model().feature_names
    columns = [list(model().schema).index(n) for n in names]
    names_out, values_out = [], []
    for row in matrix:
        values = model().forest.contributions_many(row[columns][None, :])[0, : len(names)]
        ranked = sorted(range(len(names)), key=lambda i: (-abs(values[i]), i))[:k]
        names_out.append([names[i] for i in ranked])
        values_out.append([float(values[i]) for i in ranked])
    return names_out, values_out


def test_top_contributions_match_per_row_treeshap() -> None:
    payments = history().slice(0, 120)
    out = score_table(payments, model=model(), rules=rules(), contributions=4)
    assert out.column_names == [*OUTPUT, "top_features", "top_contributions"]
    matrix = FeatureExtractor().extract_many(payments)
    names, values = _reference_top(matrix, 4)
    assert out.column("top_features").to_pylist() == names
    assert out.column("top_contributions").to_pylist() == values


@pytest.mark.parametrize("batch_size", [1, 97, 100_000])
def test_streamed_parquet_equals_table(tmp_path: Path, batch_size: int) -> None:
    payments = history().slice(0, 700)
    pq.write_table(payments, tmp_path / "in.parquet", row_group_size=150)
    rows = score_files(
        tmp_path / "in.parquet",
        tmp_path / "out.parquet",
        model=model(),
        rules=rules(),
        batch_size=batch_size,
        contributions=2,
    )
    assert rows == 700
    expected = score_table(payments, model=model(), rules=rules(), contributions=2)
    assert pq.read_table(tmp_path / "out.parquet").equals(expected)


@pytest.mark.parametrize("threads", [1, 2, 5])
def test_threads_give_the_single_thread_output(tmp_path: Path, threads: int) -> None:
    payments = history().slice(0, 900)
    pq.write_table(payments, tmp_path / "in.parquet", row_group_size=100)
    expected = score_table(payments, model=model(), rules=rules(), threads=1, batch_size=900)
    assert score_table(
        payments, model=model(), rules=rules(), threads=threads, batch_size=70
    ).equals(expected)
    score_files(
        tmp_path / "in.parquet",
        tmp_path / "out.parquet",
        model=model(),
        rules=rules(),
        threads=threads,
        batch_size=64,
    )
    assert pq.read_table(tmp_path / "out.parquet").equals(expected)


@pytest.mark.parametrize("threads", [0, -1, True, 1.5])
def test_bad_thread_count(threads: object) -> None:
    with pytest.raises(ValueError, match="threads must be a positive int or None"):
        score_table(history().slice(0, 10), model=model(), rules=rules(), threads=threads)  # type: ignore[arg-type]


@pytest.mark.parametrize("threads", [1, 3])
def test_bad_row_in_a_later_file_is_named_and_leaves_nothing(tmp_path: Path, threads: int) -> None:
    payments = history().slice(0, 400)
    parts = tmp_path / "parts"
    parts.mkdir()
    pq.write_table(payments.slice(0, 200), parts / "a.parquet")
    currency = payments.column("currency").to_pylist()
    currency[250] = "zzz"
    bad = payments.set_column(
        payments.column_names.index("currency"), "currency", pa.array(currency)
    )
    pq.write_table(bad.slice(200, 200), parts / "b.parquet")
    (tmp_path / "out").mkdir()
    with pytest.raises(SchemaError, match=r"b\.parquet: currency: unknown currency 'zzz'.*row 50"):
        score_files(
            parts, tmp_path / "out" / "o.parquet", model=model(), rules=rules(), threads=threads
        )
    _assert_no_output(tmp_path)


def test_bad_row_of_an_unsorted_table_names_the_input_row() -> None:
    payments = history().slice(0, 300)
    order = np.random.default_rng(3).permutation(300)
    shuffled = payments.take(pa.array(order))
    currency = shuffled.column("currency").to_pylist()
    currency[123] = "zzz"
    bad = shuffled.set_column(
        shuffled.column_names.index("currency"), "currency", pa.array(currency)
    )
    with pytest.raises(SchemaError, match=r"currency: unknown currency 'zzz'.*\(row 123\)"):
        score_table(bad, model=model(), rules=rules(), batch_size=50)


def test_directory_csv_and_ipc_inputs(tmp_path: Path) -> None:
    payments = history().slice(0, 500).drop_columns(["is_fraud", "scenario"])
    expected = score_table(payments, model=model(), rules=rules())
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, start in enumerate(range(0, 500, 180)):
        pq.write_table(payments.slice(start, 180), parts / f"part-{i:03}.parquet")
    score_files(parts, tmp_path / "dir.parquet", model=model(), rules=rules())
    assert pq.read_table(tmp_path / "dir.parquet").equals(expected)

    feather.write_feather(payments, tmp_path / "in.arrow")
    score_files(tmp_path / "in.arrow", tmp_path / "ipc.parquet", model=model(), rules=rules())
    assert pq.read_table(tmp_path / "ipc.parquet").equals(expected)

    csv.write_csv(payments, tmp_path / "in.csv")
    score_files(tmp_path / "in.csv", tmp_path / "csv.parquet", model=model(), rules=rules())
    from_csv = pq.read_table(tmp_path / "csv.parquet")
    assert from_csv.drop_columns(["id"]).equals(expected.drop_columns(["id"]))
    assert from_csv.column("id").to_pylist() == expected.column("id").to_pylist()


def test_long_window_columns_cover_all_time_and_yearly() -> None:
    names = long_window_columns()
    assert "total_charges_per_card_number_all_time" in names
    assert "total_customers_for_card_yearly" in names
    assert "seconds_since_card_first_seen" in names
    assert "total_charges_per_card_number_weekly" not in names
    assert "amount" not in names
    assert reads_long_windows(model(), rules())
    assert WARMUP_SECONDS == 169 * 3600


def _score_to(tmp_path: Path, source: Path) -> Path:
    output = tmp_path / "out" / "scores.parquet"
    output.parent.mkdir(exist_ok=True)
    score_files(source, output, model=model(), rules=rules(), batch_size=64)
    return output


def _assert_no_output(tmp_path: Path) -> None:
    assert list((tmp_path / "out").iterdir()) == []


def _write(tmp_path: Path, table: pa.Table) -> Path:
    path = tmp_path / "in.parquet"
    pq.write_table(table, path, row_group_size=64)
    return path


def test_missing_required_column_names_it_and_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, history().slice(0, 200).drop_columns(["amount"]))
    with pytest.raises(SchemaError, match=r"in\.parquet: amount: required column is missing"):
        _score_to(tmp_path, path)
    _assert_no_output(tmp_path)


def test_wrong_type_names_the_column(tmp_path: Path) -> None:
    payments = history().slice(0, 200)
    amount = payments.column("amount").cast(pa.string())
    path = _write(tmp_path, payments.set_column(2, "amount", amount))
    with pytest.raises(
        SchemaError, match="amount: column must hold integers, got Arrow type string"
    ):
        _score_to(tmp_path, path)
    _assert_no_output(tmp_path)


def test_unsorted_history_is_rejected_with_the_row(tmp_path: Path) -> None:
    payments = history().slice(0, 200)
    swapped = np.arange(200)
    swapped[[10, 150]] = [150, 10]
    path = _write(tmp_path, payments.take(pa.array(swapped)))
    with pytest.raises(SchemaError, match=r"created: payments are not sorted by time \(row 1[01]"):
        _score_to(tmp_path, path)
    _assert_no_output(tmp_path)


def test_duplicated_id_across_batches_is_rejected(tmp_path: Path) -> None:
    payments = history().slice(0, 200)
    ids = payments.column("id").to_pylist()
    ids[180] = ids[5]
    path = _write(tmp_path, payments.set_column(0, "id", pa.array(ids)))
    with pytest.raises(SchemaError, match=f"id: duplicated id '{ids[5]}'"):
        _score_to(tmp_path, path)
    _assert_no_output(tmp_path)
    with pytest.raises(SchemaError, match=f"id: duplicated id '{ids[5]}'"):
        score_table(pq.read_table(path), model=model(), rules=rules())


def test_missing_id_is_rejected() -> None:
    payments = history().slice(0, 50)
    ids = payments.column("id").to_pylist()
    ids[7] = None
    with pytest.raises(SchemaError, match=r"id: required field is missing \(row 7"):
        score_table(payments.set_column(0, "id", pa.array(ids)), model=model(), rules=rules())


def test_corrupt_parquet_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, history().slice(0, 200))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + b"\0" * 64 + data[-2000:])
    with pytest.raises(InputError, match=r"in\.parquet: cannot read parquet file"):
        _score_to(tmp_path, path)
    _assert_no_output(tmp_path)


def test_bad_paths_and_options(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(InputError, match=r"nothing\.parquet: no such file or directory"):
        _score_to(tmp_path, tmp_path / "nothing.parquet")
    (tmp_path / "in.xlsx").write_bytes(b"x")
    with pytest.raises(InputError, match=r"in\.xlsx: unknown input format"):
        _score_to(tmp_path, tmp_path / "in.xlsx")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"directory holds no \.parquet, \.csv or \.arrow files"):
        _score_to(tmp_path, tmp_path / "empty")
    path = _write(tmp_path, history().slice(0, 10))
    with pytest.raises(InputError, match="output directory does not exist"):
        score_files(path, tmp_path / "no" / "o.parquet", model=model(), rules=rules())
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        score_files(path, tmp_path / "o.parquet", model=model(), rules=rules(), batch_size=0)
    with pytest.raises(ValueError, match="contributions must be a non-negative int, got -1"):
        score_table(history().slice(0, 10), model=model(), rules=rules(), contributions=-1)
    _assert_no_output(tmp_path)


def test_model_of_another_schema_is_rejected() -> None:
    other = RiskModel(model().forest, model().calibration, [*model().schema, "extra"])
    with pytest.raises(ModelError, match="trained on a different feature schema"):
        score_table(history().slice(0, 10), model=other, rules=rules())


@pytest.mark.parametrize("threads", [1, 3])
def test_interrupted_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    import radarcore.batch

    path = _write(tmp_path, history().slice(0, 300))
    calls = []

    def fail_later(self: object, batch: object, matrix: np.ndarray) -> pa.Table:
        calls.append(len(matrix))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, batch, matrix)

    original = radarcore.batch._Scorer.decide
    monkeypatch.setattr(radarcore.batch._Scorer, "decide", fail_later)
    (tmp_path / "out").mkdir()
    with pytest.raises(KeyboardInterrupt):
        score_files(
            path,
            tmp_path / "out" / "o.parquet",
            model=model(),
            rules=rules(),
            batch_size=64,
            threads=threads,
        )
    _assert_no_output(tmp_path)


def _labelled(payments: pa.Table) -> pa.Table:
    fraud = payments.column("is_fraud")
    none = pa.array(np.zeros(payments.num_rows, dtype=bool))
    return (
        payments.append_column("outcome_type", payments.column("outcome"))
        .append_column("is_disputed", fraud)
        .append_column("has_early_fraud_warning", none)
        .append_column("refunded_as_fraud", none)
        .append_column("is_refunded", none)
    )


def test_rule_attributes_decide_as_one_by_one() -> None:
    payments = history().slice(0, 500)
    order = np.random.default_rng(8).permutation(500)
    shuffled = payments.take(pa.array(order))
    columns = rule_attributes(shuffled, model=model(), rules=rules(), batch_size=90)
    assert "risk_level" in columns
    assert "card_country" in columns
    assert isinstance(columns["card_country"], pa.DictionaryArray)
    decision = rules().evaluate_many(columns)
    expected = online(shuffled, model(), rules())
    assert list(decision.action_names()) == expected["action"]
    assert [r.id if r else None for r in (decision[i].rule for i in range(500))] == expected["rule"]


def test_backtest_of_payments_scores_through_batch_scoring() -> None:
    payments = _labelled(history().slice(0, 800))
    result = rules().backtest(payments, model=model())
    scored = score_table(payments, model=model(), rules=rules())
    actions = scored.column("action").to_pylist()
    rule_ids = scored.column("rule_id").to_pylist()
    assert result.payments.count == 800
    for action in ("allow", "block", "review"):
        assert result.by_action[action].count == actions.count(action)
    for entry in result.rules:
        assert entry.decided.count == rule_ids.count(entry.rule.id)
    fraud = payments.column("is_fraud").to_pylist()
    blocked_fraud = sum(1 for a, f in zip(actions, fraud, strict=True) if a == "block" and f)
    assert result.by_action["block"].fraudulent.count == blocked_fraud
    assert sum(e.decided.count for e in result.rules) > 0


def test_string_attributes_are_dictionary_encoded_once_per_value() -> None:
    payments = history().slice(0, 400)
    columns = FeatureExtractor.string_attributes_many(payments, ["email_domain", "browser", "x"])
    assert set(columns) == {"email_domain", "browser"}
    domains = columns["email_domain"]
    assert isinstance(domains, pa.DictionaryArray)
    assert len(domains.dictionary) == len(set(domains.dictionary.to_pylist()))
    expected = [
        None if e is None else e.strip().lower().rsplit("@", 1)[1]
        for e in payments.column("email").to_pylist()
    ]
    assert domains.to_pylist() == expected
    from radarcore import _core
    from radarcore.events import pack_many

    batch = pack_many(payments)
    with pytest.raises(ValueError, match="string attribute index 999 is out of range"):
        _core.FeatureExtractor.string_attributes_many(
            batch.rows, batch.strings, batch.ints, batch.floats, batch.bools, [999]
        )
