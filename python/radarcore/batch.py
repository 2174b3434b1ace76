"""Batch scoring of historical payments: features, model, rules, in time order, at core speed.

:func:`score_table` scores an in-memory table (pyarrow, pandas or polars); :func:`score_files`
streams Parquet (a file or a directory of files), CSV or Arrow IPC files to one Parquet file,
record batch by record batch, carrying the velocity state across batches so memory stays
bounded. Both replay the payments in ``created`` order through the same compiled core as
online assessment: each payment is extracted as of *before* it, scored, decided by the rules,
then recorded with its ``outcome`` column (``pending`` when there is none). The results equal
assessing the payments one by one (``FeatureExtractor.extract_one``, ``RiskModel``,
``RuleSet.evaluate_one``, ``FeatureExtractor.update``).

The output has one row per payment, in input order:

* the input's id column (its own name and values, before any mapping);
* ``risk_score`` (int32, 0..100) and ``risk_level`` (``normal``, ``elevated``, ``highest``);
* ``action`` (``allow``, ``block``, ``review`` or null) and ``rule_id`` (the deciding rule);
* with ``contributions=k``: ``top_features`` (list of feature names) and
  ``top_contributions`` (list of float64 margin contributions, TreeSHAP), the ``k`` largest by
  absolute value.

Dask (``client=``, or ``radarcore score --dask``): the history is split by time into
partitions scored in parallel, each giving exactly the single-process results.

* When the model and the rules read only windows up to ``weekly`` (and no ``all_time``,
  ``yearly`` or first-seen attribute), each partition first replays a warm-up of the preceding
  :data:`WARMUP_SECONDS` (608,400 s: 169 hourly buckets, the weekly window) into a fresh state,
  then scores its own rows: older payments cannot reach those windows.
* Otherwise (the default model reads ``all_time`` counters and first-seen times), no bounded
  warm-up is exact. A first pass computes each partition's starting state: a chain of tasks
  where task ``i`` restores the state at the start of partition ``i``, replays that partition
  without scoring it and hands on a snapshot (:meth:`FeatureExtractor.snapshot`). Partition
  ``i`` is scored from that snapshot as soon as it exists, so scoring overlaps with the chain;
  the replay itself is sequential, which bounds the speed-up for such models.

Labels that arrive later (refunds, disputes, early fraud warnings) are not replayed: a batch
holds payments, and label counters read as they stood with no labels recorded.

>>> from radarcore import Forest, RuleSet, synth
>>> from radarcore.models import SpecBuilder, TreeSpec
>>> from radarcore.models.bundle import RiskModel
>>> from radarcore.models.calibration import RiskCalibration
>>> tree = TreeSpec()
>>> tree.set_children(tree.add_split(0, 10_000.0), tree.add_leaf(-4.0), tree.add_leaf(1.0))
>>> forest = Forest.from_spec(SpecBuilder(["amount"], objective="binary", trees=[tree]))
>>> model = RiskModel(forest, RiskCalibration(1.0, 0.0), FeatureExtractor().schema.names)
>>> payments = synth.generate(300, seed=1).payments
>>> out = score_table(payments, model=model, rules=RuleSet.default())
>>> out.column_names
['id', 'risk_score', 'risk_level', 'action', 'rule_id']
>>> out.num_rows
300
"""

from __future__ import annotations

import functools
import itertools
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from radarcore.errors import InputError, SchemaError
from radarcore.events import EVENT_FIELDS, to_arrow
from radarcore.features import FeatureExtractor
from radarcore.mapping import ColumnMapping
from radarcore.rules import ACTION_NAMES, Rule, RuleSet

if TYPE_CHECKING:
    from radarcore.models.bundle import RiskModel

__all__ = [
    "WARMUP_SECONDS",
    "long_window_columns",
    "reads_long_windows",
    "score_files",
    "score_table",
]

#: Warm-up replayed before each Dask partition: the weekly window (169 buckets of one hour).
WARMUP_SECONDS = 608_400

_FIELD_TYPES = {f.name: f.type for f in EVENT_FIELDS}
_SHORT_SUFFIXES = ("_hourly", "_daily", "_weekly")


@functools.cache
def long_window_columns() -> frozenset[str]:
    """Feature and attribute names that read further back than :data:`WARMUP_SECONDS`:
    ``yearly`` and ``all_time`` families, first-seen times and label counters."""
    from radarcore.features import ATTRIBUTES

    columns = (*FeatureExtractor().schema.columns, *ATTRIBUTES)
    return frozenset(
        c.name
        for c in columns
        if c.source in ("velocity", "labels") and not c.name.endswith(_SHORT_SUFFIXES)
    )


_ATTRIBUTE_REF = re.compile(r":([a-z0-9_]+):")
_SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".arrow": "ipc",
    ".ipc": "ipc",
    ".feather": "ipc",
}


def reads_long_windows(model: RiskModel, rules: RuleSet) -> bool:
    """Whether scoring needs more history than :data:`WARMUP_SECONDS` (see the module doc)."""
    read = set(model.feature_names)
    for rule in rules:
        read.update(_ATTRIBUTE_REF.findall(rule.predicate))
    return not read.isdisjoint(long_window_columns())


def score_table(
    table: Any,
    *,
    model: RiskModel,
    rules: RuleSet,
    mapping: ColumnMapping | None = None,
    contributions: int = 0,
    client: Any = None,
    partitions: int | None = None,
) -> Any:
    """Score a pyarrow Table/RecordBatch or a pandas/polars DataFrame; a ``pyarrow.Table``
    with one row per payment, in input order (see the module docstring for the columns).

    Rows need not be sorted: they are replayed in ``created`` order (stably). ``client``: a
    ``dask.distributed.Client`` to score on, in ``partitions`` time partitions (default: two
    per worker thread).
    """
    _check_contributions(contributions)
    source = to_arrow(table)
    mapping = mapping or ColumnMapping()
    events = mapping.apply(source)
    _check_ids(events.column("id") if "id" in events.column_names else None, "input")
    model.check_schema(FeatureExtractor().schema)
    scorer = _Scorer(model, rules, contributions)
    if client is None:
        scored = scorer.score(FeatureExtractor(), events, sort=True)
    else:
        scored = _score_dask(client, scorer, events, partitions)
    return _with_id(source, mapping, scored)


def score_files(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    model: RiskModel,
    rules: RuleSet,
    mapping: ColumnMapping | None = None,
    contributions: int = 0,
    batch_size: int = 65_536,
    progress: bool = False,
    client: Any = None,
    partitions: int | None = None,
) -> int:
    """Score Parquet/CSV/Arrow IPC files (or directories of them) into one Parquet file;
    returns the number of payments.

    Files are read in the order given (a directory's files sorted by name) and must together
    be sorted by ``created``; ids must be unique. The output is written to a temporary file
    next to ``output`` and renamed into place at the end, so a failure (bad input, an
    interrupt) leaves no partial output. With ``client`` the inputs are read whole and scored
    on Dask (see :func:`score_table`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_contributions(contributions)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    files = _input_files(inputs)
    output = Path(output)
    if not output.parent.is_dir():
        raise InputError(f"{output.parent}: output directory does not exist")
    mapping = mapping or ColumnMapping()
    model.check_schema(FeatureExtractor().schema)
    scorer = _Scorer(model, rules, contributions)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    writer: Any = None
    rows = 0
    try:
        if client is not None:
            source = pa.concat_tables(
                [
                    pa.Table.from_batches(list(_batches(p, f, batch_size, mapping)))
                    for p, f in files
                ],
                promote_options="permissive",
            )
            scored = score_table(
                source,
                model=model,
                rules=rules,
                mapping=mapping,
                contributions=contributions,
                client=client,
                partitions=partitions,
            )
            _check_order(mapping.apply(source), "input", 0, None)
            pq.write_table(scored, tmp)
            rows = scored.num_rows
        else:
            extractor = FeatureExtractor()
            ids: list[Any] = []
            last: int | None = None
            bar = _progress_bar(progress, files)
            for path, fmt in files:
                start = 0
                for batch in _batches(path, fmt, batch_size, mapping):
                    source = pa.Table.from_batches([batch])
                    try:
                        events = mapping.apply(source)
                        last = _check_order(events, path, start, last)
                        scored = _with_id(
                            source, mapping, scorer.score(extractor, events, sort=False)
                        )
                    except SchemaError as error:
                        raise SchemaError(f"{path}: {error} (rows from {start})") from None
                    if "id" in events.column_names:
                        ids.append(events.column("id"))
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, scored.schema)
                    writer.write_table(scored)
                    start += batch.num_rows
                    rows += batch.num_rows
                    bar.update(batch.num_rows)
            bar.close()
            _check_ids(pa.chunked_array(ids) if ids else None, "input")
            if writer is None:
                raise InputError(f"{files[0][0]}: no payments to score")
            writer.close()
            writer = None
        os.replace(tmp, output)
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return rows


@dataclass(frozen=True)
class _Scorer:
    """The per-batch pipeline; picklable (the rules travel as text) for Dask workers."""

    model: RiskModel
    rules: RuleSet
    contributions: int

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        rules = tuple((r.text, r.id) for r in self.rules)
        return (
            _rebuild_scorer,
            (self.model, rules, tuple(self.rules.lists.values()), self.contributions),
        )

    @functools.cached_property
    def reads(self) -> frozenset[str]:
        """The attributes the rule program reads (the only ones computed for the rules)."""
        program = self.rules.program
        return frozenset(s.source for s in (*program.numeric_slots, *program.string_slots))

    def score(self, extractor: FeatureExtractor, events: Any, *, sort: bool) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc

        matrix, attributes = extractor.extract_with_attributes_many(
            events, names=self.reads, sort=sort
        )
        scores = self.model.risk_scores(matrix)
        levels = pa.array(self.model.risk_levels(scores), pa.string())
        attributes["risk_score"] = scores.astype(np.float64)
        attributes["risk_level"] = levels
        decision = self.rules.evaluate_many(attributes)
        rule_ids = pa.array([r.id for r in self.rules], pa.string())
        columns: dict[str, Any] = {
            "risk_score": pa.array(scores, pa.int32()),
            "risk_level": levels,
            "action": pc.take(pa.array(ACTION_NAMES, pa.string()), pa.array(decision.actions)),
            "rule_id": pc.take(rule_ids, pa.array(decision.rules, mask=decision.rules < 0)),
        }
        if self.contributions:
            columns.update(self._top(matrix))
        return pa.table(columns)

    def _top(self, matrix: npt.NDArray[np.float64]) -> dict[str, Any]:
        import pyarrow as pa

        names = self.model.feature_names
        position = {n: i for i, n in enumerate(self.model.schema)}
        x = np.ascontiguousarray(matrix[:, [position[n] for n in names]])
        values = self.model.forest.contributions_many(x)[:, : len(names)]
        k = min(self.contributions, len(names))
        order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
        offsets = pa.array(np.arange(0, order.size + 1, k, dtype=np.int32))
        top_names = np.asarray(names, dtype=object)[order].ravel()
        top_values = np.take_along_axis(values, order, axis=1).ravel()
        return {
            "top_features": pa.ListArray.from_arrays(offsets, pa.array(top_names, pa.string())),
            "top_contributions": pa.ListArray.from_arrays(offsets, pa.array(top_values)),
        }


def _rebuild_scorer(
    model: RiskModel, rules: tuple[tuple[str, str], ...], lists: tuple[Any, ...], k: int
) -> _Scorer:
    rule_set = RuleSet([Rule.parse(text, id=id) for text, id in rules], lists=lists)
    return _Scorer(model, rule_set, k)


def _score_partition(
    scorer: _Scorer, part: Any, warmup: Any = None, state: bytes | None = None
) -> Any:
    extractor = FeatureExtractor()
    if state is not None:
        extractor.restore(state)
    if warmup is not None and warmup.num_rows:
        extractor.extract_many(warmup, sort=False)
    return scorer.score(extractor, part, sort=False)


def _advance(state: bytes | None, part: Any) -> bytes:
    extractor = FeatureExtractor()
    if state is not None:
        extractor.restore(state)
    extractor.extract_many(part, sort=False)
    return extractor.snapshot()


def _score_dask(client: Any, scorer: _Scorer, events: Any, partitions: int | None) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    from radarcore.events import pack_many

    if events.num_rows == 0:
        return scorer.score(FeatureExtractor(), events, sort=True)
    required = [n for n in ("id", "created", "amount", "currency") if n in events.column_names]
    created = pack_many(events.select(required)).created
    order = np.argsort(created, kind="stable")
    ordered = events.take(pa.array(order))
    created = created[order]
    if partitions is None:
        partitions = 2 * max(1, sum(client.nthreads().values()))
    if partitions < 1:
        raise ValueError(f"partitions must be >= 1, got {partitions}")
    bounds = np.linspace(0, len(created), min(partitions, len(created)) + 1).astype(np.int64)
    remote_scorer = client.scatter(scorer, broadcast=True)
    long_windows = reads_long_windows(scorer.model, scorer.rules)
    futures, state = [], None
    for begin, end in itertools.pairwise(bounds):
        part = client.scatter(ordered.slice(begin, end - begin), hash=False)
        if long_windows:
            futures.append(client.submit(_score_partition, remote_scorer, part, None, state))
            state = client.submit(_advance, state, part)
        else:
            first = int(np.searchsorted(created, created[begin] - WARMUP_SECONDS, side="left"))
            warmup = client.scatter(ordered.slice(first, begin - first), hash=False)
            futures.append(client.submit(_score_partition, remote_scorer, part, warmup))
    scored = pa.concat_tables(client.gather(futures))
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return pc.take(scored, pa.array(inverse))


def _with_id(source: Any, mapping: ColumnMapping, scored: Any) -> Any:
    name = mapping.input_id
    if name not in source.column_names:
        raise SchemaError(f"{name}: required column is missing")
    return scored.add_column(0, name, source.column(name))


def _check_contributions(contributions: int) -> None:
    if isinstance(contributions, bool) or not isinstance(contributions, int) or contributions < 0:
        raise ValueError(f"contributions must be a non-negative int, got {contributions!r}")


def _check_ids(ids: Any, where: str) -> None:
    import pyarrow.compute as pc

    if ids is None:
        return
    if ids.null_count:
        first = int(np.flatnonzero(~ids.is_valid().to_numpy(zero_copy_only=False))[0])
        raise SchemaError(f"id: required field is missing (row {first} of the {where})")
    if pc.count_distinct(ids).as_py() != len(ids):
        counts = pc.value_counts(ids)
        repeated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
        raise SchemaError(f"id: duplicated id {repeated[0].as_py()!r} in the {where}")


def _check_order(events: Any, where: object, start: int, last: int | None) -> int | None:
    """Raise unless ``created`` never goes back (within the batch and after ``last``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if "created" not in events.column_names or events.num_rows == 0:
        return last
    column = events.column("created")
    if not (pa.types.is_integer(column.type) or pa.types.is_timestamp(column.type)):
        return last
    if pa.types.is_timestamp(column.type):
        column = pc.cast(pc.cast(column, pa.timestamp("s")), pa.int64())
    created = pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False)
    previous = np.concatenate(([created[0] if last is None else last], created[:-1]))
    back = np.flatnonzero(created < previous)
    if back.size:
        row = start + int(back[0])
        raise SchemaError(
            f"created: payments are not sorted by time (row {row} is older than the row "
            "before it); sort the history by created"
        )
    return int(created[-1])


def _input_files(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> list[tuple[Path, str]]:
    items = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    files: list[tuple[Path, str]] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file())
            if not found:
                raise InputError(f"{path}: directory holds no .parquet, .csv or .arrow files")
            files.extend((p, _SUFFIXES[p.suffix]) for p in found)
        elif path.is_file():
            if path.suffix not in _SUFFIXES:
                raise InputError(
                    f"{path}: unknown input format (expected {', '.join(sorted(_SUFFIXES))})"
                )
            files.append((path, _SUFFIXES[path.suffix]))
        else:
            raise InputError(f"{path}: no such file or directory")
    if not files:
        raise InputError("no input files given")
    return files


def _csv_types(mapping: ColumnMapping) -> dict[str, Any]:
    """Arrow types of the event fields in a CSV file, so that a column that happens to be
    empty or numeric-looking (``phone``) is read as the schema says."""
    import pyarrow as pa

    kinds = {"string": pa.string(), "int64": pa.int64(), "int32": pa.int64()}
    kinds.update({"float64": pa.float64(), "bool": pa.bool_()})
    types = {f.name: kinds[f.type] for f in EVENT_FIELDS if f.name not in mapping.columns}
    types.update(
        {
            source: pa.string()
            for name, source in mapping.columns.items()
            if _FIELD_TYPES[name] == "string" and name != "id"
        }
    )
    return types


def _batches(path: Path, fmt: str, batch_size: int, mapping: ColumnMapping) -> Iterator[Any]:
    """Record batches of one file; unreadable files raise ``InputError`` naming the file."""
    import pyarrow as pa
    import pyarrow.csv as csv
    import pyarrow.parquet as pq

    try:
        if fmt == "parquet":
            yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size)
        elif fmt == "csv":
            options = csv.ReadOptions(block_size=max(1 << 20, batch_size * 64))
            convert = csv.ConvertOptions(column_types=_csv_types(mapping), strings_can_be_null=True)
            yield from csv.open_csv(path, read_options=options, convert_options=convert)
        else:
            with pa.memory_map(str(path)) as source:
                try:
                    reader = pa.ipc.open_file(source)
                    for i in range(reader.num_record_batches):
                        yield reader.get_batch(i)
                except pa.ArrowInvalid:
                    source.seek(0)
                    yield from pa.ipc.open_stream(source)
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{path}: cannot read {fmt} file: {error}") from None


def _progress_bar(enabled: bool, files: list[tuple[Path, str]]) -> Any:
    from tqdm import tqdm

    total = None
    if all(fmt == "parquet" for _, fmt in files):
        import pyarrow.parquet as pq

        try:
            total = sum(pq.ParquetFile(p).metadata.num_rows for p, _ in files)
        except Exception:
            total = None
    return tqdm(total=total, unit="payments", disable=not enabled, unit_scale=True)
