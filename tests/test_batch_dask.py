"""Dask: time partitions scored in parallel equal the single-process results exactly."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as csv
import pyarrow.parquet as pq
import pytest

from batch_support import SHORT_RULES, history, model, rules, short_model
from radarcore import score_files, score_table
from radarcore.batch import reads_long_windows

# distributed probes free ports with sockets it leaves to the garbage collector; the warning is
# about its socket, not about radarcore.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as dask_client,
    ):
        yield dask_client


@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_all_time_model_on_dask_equals_one_process(client: Any, partitions: int) -> None:
    payments = history()
    assert reads_long_windows(model(), rules())
    single = score_table(payments, model=model(), rules=rules(), contributions=2)
    on_dask = score_table(
        payments,
        model=model(),
        rules=rules(),
        contributions=2,
        client=client,
        partitions=partitions,
    )
    assert on_dask.equals(single)


def test_weekly_model_on_dask_uses_a_warm_up_and_equals_one_process(client: Any) -> None:
    payments = history()
    short_rules = rules(SHORT_RULES)
    assert not reads_long_windows(short_model(), short_rules)
    single = score_table(payments, model=short_model(), rules=short_rules)
    on_dask = score_table(
        payments, model=short_model(), rules=short_rules, client=client, partitions=6
    )
    assert on_dask.equals(single)


def test_warm_up_is_needed(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the warm-up the weekly counters of later partitions would start empty."""
    import radarcore.batch

    payments = history()
    short_rules = rules(SHORT_RULES)
    single = score_table(payments, model=short_model(), rules=short_rules)
    monkeypatch.setattr(radarcore.batch, "WARMUP_SECONDS", 0)
    cold = score_table(
        payments, model=short_model(), rules=short_rules, client=client, partitions=6
    )
    assert not cold.equals(single)


def test_files_on_dask_equal_streaming(client: Any, tmp_path: Path) -> None:
    payments = history().slice(0, 900)
    pq.write_table(payments, tmp_path / "in.parquet", row_group_size=200)
    score_files(tmp_path / "in.parquet", tmp_path / "one.parquet", model=model(), rules=rules())
    score_files(
        tmp_path / "in.parquet",
        tmp_path / "dask.parquet",
        model=model(),
        rules=rules(),
        client=client,
        partitions=4,
    )
    assert pq.read_table(tmp_path / "dask.parquet").equals(pq.read_table(tmp_path / "one.parquet"))


def test_unsorted_files_are_rejected_on_dask_too(client: Any, tmp_path: Path) -> None:
    from radarcore import SchemaError

    payments = history().slice(0, 100)
    reversed_rows = payments.take(pa.array(range(99, -1, -1)))
    pq.write_table(reversed_rows, tmp_path / "in.parquet")
    (tmp_path / "out").mkdir()
    with pytest.raises(SchemaError, match="created: payments are not sorted by time"):
        score_files(
            tmp_path / "in.parquet",
            tmp_path / "out" / "o.parquet",
            model=model(),
            rules=rules(),
            client=client,
        )
    assert list((tmp_path / "out").iterdir()) == []


def test_bad_partition_count(client: Any) -> None:
    with pytest.raises(ValueError, match="partitions must be >= 1, got 0"):
        score_table(history(), model=model(), rules=rules(), client=client, partitions=0)


def test_workers_read_their_partitions_across_files(client: Any, tmp_path: Path) -> None:
    payments = history()
    parts = tmp_path / "parts"
    parts.mkdir()
    bounds = [0, 300, 310, 1200, 1900, payments.num_rows]
    for i, (begin, end) in enumerate(itertools.pairwise(bounds)):
        chunk = payments.slice(begin, end - begin)
        if i == 2:
            csv.write_csv(chunk.drop_columns(["is_fraud", "scenario"]), parts / f"p{i}.csv")
        else:
            pq.write_table(chunk, parts / f"p{i}.parquet", row_group_size=128)
    short_rules = rules(SHORT_RULES)
    for risk_model, rule_set in ((model(), rules()), (short_model(), short_rules)):
        score_files(parts, tmp_path / "one.parquet", model=risk_model, rules=rule_set, threads=1)
        score_files(
            parts,
            tmp_path / "dask.parquet",
            model=risk_model,
            rules=rule_set,
            client=client,
            partitions=5,
            batch_size=100,
        )
        one, on_dask = (
            pq.read_table(tmp_path / "one.parquet"),
            pq.read_table(tmp_path / "dask.parquet"),
        )
        assert on_dask.drop_columns(["id"]).equals(one.drop_columns(["id"]))
        assert on_dask.column("id").to_pylist() == one.column("id").to_pylist()
