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

Each batch goes through two steps. The *replay* (:meth:`FeatureExtractor.extract_many`) must
run in time order through one velocity state; the *decision* is stateless: the string
attributes the rules read (dictionary-encoded by the core, each distinct value computed and
case-folded once: no Python string per payment), the forest, the rule program, the output
columns. In process, ``threads`` (default: one per core) overlap them exactly: one thread reads
and packs batches ahead, the calling thread replays them, the others decide them. The
results do not depend on ``threads``.

:func:`rule_attributes` returns the rules' inputs of the same path (what rule backtests of
payment histories evaluate: ``RuleSet.backtest(payments, model=...)``).

Dask (``client=``, or ``radarcore score --dask``): the history is split by time into
partitions scored in parallel, each giving exactly the single-process results. For files the
client reads only the ``id`` and ``created`` columns (to check order and ids and to plan the
partitions); each worker reads its own rows (only the Parquet row groups that hold them).

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

import contextlib
import dataclasses
import functools
import itertools
import os
import queue
import re
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from radarcore.errors import InputError, SchemaError
from radarcore.events import EVENT_FIELDS, pack_many, to_arrow
from radarcore.features import FeatureExtractor, numeric_attributes
from radarcore.mapping import ColumnMapping
from radarcore.rules import ACTION_NAMES, Rule, RuleSet

if TYPE_CHECKING:
    from radarcore.models.bundle import RiskModel

__all__ = [
    "WARMUP_SECONDS",
    "long_window_columns",
    "reads_long_windows",
    "rule_attributes",
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
    threads: int | None = None,
    batch_size: int = 65_536,
    client: Any = None,
    partitions: int | None = None,
) -> Any:
    """Score a pyarrow Table/RecordBatch or a pandas/polars DataFrame; a ``pyarrow.Table``
    with one row per payment, in input order (see the module docstring for the columns).

    Rows need not be sorted: they are replayed in ``created`` order (stably), ``batch_size``
    rows at a time. ``threads``: how many threads score in this process (default: one per
    core; see :func:`score_files`). ``client``: a ``dask.distributed.Client`` to score on, in
    ``partitions`` time partitions (default: two per worker thread).
    """
    _check_options(contributions, batch_size)
    source = to_arrow(table)
    mapping = mapping or ColumnMapping()
    events = mapping.apply(source)
    _check_ids(events.column("id") if "id" in events.column_names else None, "input")
    model.check_schema(FeatureExtractor().schema)
    scorer = _Scorer(model, rules, contributions)
    order, created = _time_order(events)
    ordered = events if order is None else events.take(_indices(order))
    if client is None or ordered.num_rows == 0:
        chunks = _table_chunks(ordered, order, batch_size)
        results = _pipeline(scorer.decide, scorer, chunks, _threads(threads))
    else:
        results = _score_dask(client, scorer, _TablePartitions(ordered, created), partitions)
    scored = _concat(list(results))
    if order is not None:
        scored = scored.take(_indices(_inverse(order)))
    return _with_id(source, mapping, scored)


def rule_attributes(
    table: Any,
    *,
    model: RiskModel,
    rules: RuleSet,
    mapping: ColumnMapping | None = None,
    threads: int | None = None,
    batch_size: int = 65_536,
) -> dict[str, Any]:
    """The attribute columns that ``rules`` read, for each payment of ``table`` (events, in
    input order), computed exactly as :func:`score_table` computes them before deciding:
    velocity replayed in ``created`` order, ``risk_score``/``risk_level`` from ``model``.
    What :meth:`RuleSet.evaluate_many` and rule backtests take (numpy arrays, and
    ``pyarrow.DictionaryArray`` for strings)."""
    import pyarrow as pa

    _check_options(0, batch_size)
    events = (mapping or ColumnMapping()).apply(to_arrow(table))
    model.check_schema(FeatureExtractor().schema)
    scorer = _Scorer(model, rules, 0)
    order, _ = _time_order(events)
    ordered = events if order is None else events.take(_indices(order))
    chunks = _table_chunks(ordered, order, batch_size)
    parts = list(_pipeline(scorer.rule_inputs, scorer, chunks, _threads(threads)))
    inverse = None if order is None else _inverse(order)
    columns: dict[str, Any] = {}
    for name, first in parts[0].items():
        if isinstance(first, np.ndarray):
            column: Any = np.concatenate([part[name] for part in parts])
            columns[name] = column if inverse is None else column[inverse]
        else:
            column = pa.concat_arrays([part[name] for part in parts])
            columns[name] = column if inverse is None else column.take(_indices(inverse))
    return columns


def _table_chunks(
    ordered: Any, order: npt.NDArray[np.int64] | None, batch_size: int
) -> Iterator[_Chunk]:
    for begin in range(0, max(ordered.num_rows, 1), batch_size):
        yield _Chunk(ordered.slice(begin, batch_size), None, _row_in_input(order, begin))


def _inverse(order: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return inverse


def score_files(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    model: RiskModel,
    rules: RuleSet,
    mapping: ColumnMapping | None = None,
    contributions: int = 0,
    batch_size: int = 65_536,
    threads: int | None = None,
    progress: bool = False,
    client: Any = None,
    partitions: int | None = None,
) -> int:
    """Score Parquet/CSV/Arrow IPC files (or directories of them) into one Parquet file;
    returns the number of payments.

    Files are read in the order given (a directory's files sorted by name) and must together
    be sorted by ``created``; ids must be unique. The output is written to a temporary file
    next to ``output`` and renamed into place at the end, so a failure (bad input, an
    interrupt) leaves no partial output.

    In process, ``threads`` (default: one per core) share the work and give the same output:
    the calling thread reads and replays record batch after batch through the velocity state
    (the one step that must run in order), and the other threads compute each replayed
    batch's string attributes, model scores, rule decisions and output, at most ``threads``
    batches ahead of the writer. With ``client`` (Dask) the client reads only the ``id`` and
    ``created`` columns to plan the time partitions; each worker reads its own partition (and
    warm-up rows) from the files.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_options(contributions, batch_size)
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
    ids: list[Any] = []
    bar = _progress_bar(progress, files)
    try:
        if client is not None:
            plan = _FilePartitions.plan(files, mapping, batch_size)
            results = _score_dask(client, scorer, plan, partitions)
        else:
            chunks = _file_chunks(files, batch_size, mapping, ids)
            results = _pipeline(scorer.decide, scorer, chunks, _threads(threads))
        for scored in results:
            if writer is None:
                writer = pq.ParquetWriter(tmp, scored.schema)
            writer.write_table(scored)
            rows += scored.num_rows
            bar.update(scored.num_rows)
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
    finally:
        bar.close()
    return rows


@dataclass(frozen=True)
class _Chunk:
    """Events to replay (mapped, in replay order), the input's id column to put first in the
    output (``None``: the caller adds it) and how to name the rows of a rejected chunk."""

    events: Any
    ids: tuple[str, Any] | None
    explain: Callable[[SchemaError], SchemaError]


def _pipeline(
    step: Callable[[Any, npt.NDArray[np.float64]], Any],
    scorer: _Scorer,
    chunks: Iterable[_Chunk],
    threads: int,
) -> Iterator[Any]:
    """``step(packed batch, feature matrix)`` of each of ``chunks`` replayed in turn through
    one fresh velocity state (the scored tables, with the chunk's ids first), in order.

    With several threads: one thread reads, maps and packs the chunks ahead; the calling
    thread replays them one after another (it alone reads and updates the velocity state);
    ``threads - 1`` threads run ``step`` on the replayed chunks, at most ``threads`` chunks
    ahead. The compiled kernels release the GIL, so these stages overlap."""
    extractor = FeatureExtractor()

    def prepare(chunk: _Chunk) -> _Chunk:
        try:
            return dataclasses.replace(chunk, events=pack_many(chunk.events))
        except SchemaError as error:
            raise chunk.explain(error) from None

    def replay(chunk: _Chunk) -> tuple[Any, Any]:
        try:
            return scorer.replay(extractor, chunk.events)
        except SchemaError as error:
            raise chunk.explain(error) from None

    def decide(chunk: _Chunk, replayed: tuple[Any, Any]) -> Any:
        result = step(*replayed)
        return result if chunk.ids is None else result.add_column(0, *chunk.ids)

    if threads <= 1:
        for chunk in chunks:
            yield decide(chunk, replay(prepare(chunk)))
        return
    prepared = _prefetch(map(prepare, chunks), depth=2)
    with ThreadPoolExecutor(threads - 1, thread_name_prefix="radarcore-decide") as pool:
        pending: deque[Future[Any]] = deque()
        try:
            for chunk in prepared:
                pending.append(pool.submit(decide, chunk, replay(chunk)))
                while len(pending) >= threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            prepared.close()
            for future in pending:
                future.cancel()


_T = TypeVar("_T")


def _prefetch(items: Iterator[_T], depth: int) -> Generator[_T, None, None]:
    """``items``, produced on another thread at most ``depth`` ahead of the consumer; an
    exception there is raised here."""
    slots: queue.Queue[tuple[bool, Any]] = queue.Queue(depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                slots.put((False, item))
            slots.put((True, None))
        except BaseException as error:  # handed to the consumer, which raises it
            slots.put((True, error))

    thread = threading.Thread(target=produce, name="radarcore-read", daemon=True)
    thread.start()
    try:
        while True:
            last, item = slots.get()
            if last:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                slots.get(timeout=0.05)
        thread.join()


def _file_chunks(
    files: list[tuple[Path, str]], batch_size: int, mapping: ColumnMapping, ids: list[Any]
) -> Iterator[_Chunk]:
    """The files' record batches as chunks, checked for time order; their ids go to ``ids``."""
    import pyarrow as pa

    last: int | None = None
    for path, fmt in files:
        start = 0
        for batch in _batches(path, fmt, batch_size, mapping):
            source = pa.Table.from_batches([batch])
            explain = _in_file(path, start)
            try:
                events = mapping.apply(source)
                last = _check_order(events, path, start, last)
                id_column = _id_column(source, mapping)
            except SchemaError as error:
                raise explain(error) from None
            if "id" in events.column_names:
                ids.append(events.column("id"))
            yield _Chunk(events, id_column, explain)
            start += batch.num_rows


def _in_file(path: Path, start: int) -> Callable[[SchemaError], SchemaError]:
    return lambda error: SchemaError(f"{path}: {error} (rows from {start})")


_ROW = re.compile(r"\(row (\d+)\)")


def _row_in_input(
    order: npt.NDArray[np.int64] | None, begin: int
) -> Callable[[SchemaError], SchemaError]:
    """A chunk of the time-ordered table: its errors name the row of the input table."""

    def explain(error: SchemaError) -> SchemaError:
        def row(match: re.Match[str]) -> str:
            k = begin + int(match[1])
            return f"(row {k if order is None else int(order[k])})"

        return SchemaError(_ROW.sub(row, str(error)))

    return explain


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
        """The attributes the rule program reads: the only ones computed for the rules."""
        program = self.rules.program
        return frozenset(s.source for s in (*program.numeric_slots, *program.string_slots))

    def replay(self, extractor: FeatureExtractor, events: Any) -> tuple[Any, Any]:
        """The stateful step: events (in replay order) through the velocity state; the packed
        batch and its feature matrix."""
        batch = pack_many(events)
        return batch, extractor.extract_many(batch, sort=False)

    def decide(self, batch: Any, matrix: npt.NDArray[np.float64]) -> Any:
        """The stateless step: model, rules and the output table of a replayed batch."""
        import pyarrow as pa
        import pyarrow.compute as pc

        scores = self.model.risk_scores(matrix)
        attributes = self.rule_inputs(batch, matrix, scores)
        levels = attributes["risk_level"]
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

    def rule_inputs(
        self,
        batch: Any,
        matrix: npt.NDArray[np.float64],
        scores: npt.NDArray[np.int32] | None = None,
    ) -> dict[str, Any]:
        """The attribute columns the rules read, the model's risk among them."""
        import pyarrow as pa

        scores = self.model.risk_scores(matrix) if scores is None else scores
        attributes: dict[str, Any] = numeric_attributes(matrix, self.reads)
        attributes.update(FeatureExtractor.string_attributes_many(batch, self.reads))
        attributes["risk_score"] = scores.astype(np.float64)
        attributes["risk_level"] = pa.array(self.model.risk_levels(scores), pa.string())
        return attributes

    def score(self, extractor: FeatureExtractor, events: Any) -> Any:
        """Both steps on one batch of events in replay order."""
        return self.decide(*self.replay(extractor, events))

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


@dataclass(frozen=True)
class _FileSlice:
    """Rows ``[begin, end)`` of the time-ordered input files, as ``(path, format, first row,
    stop row)`` pieces: what a Dask worker reads for itself (small to ship)."""

    pieces: tuple[tuple[Path, str, int, int], ...]
    mapping: ColumnMapping
    batch_size: int

    def read(self) -> tuple[Any, tuple[str, Any] | None]:
        """(mapped events, the input's id column)."""
        import pyarrow as pa

        tables = []
        for path, fmt, first, stop in self.pieces:
            batches, offset, groups = [], 0, None
            if fmt == "parquet":
                offset, groups = _row_groups(path, first, stop)
            for batch in _batches(path, fmt, self.batch_size, self.mapping, row_groups=groups):
                if offset + batch.num_rows > first and offset < stop:
                    low = max(first - offset, 0)
                    batches.append(batch.slice(low, min(stop - offset, batch.num_rows) - low))
                offset += batch.num_rows
                if offset >= stop:
                    break
            tables.append(pa.Table.from_batches(batches))
        source = pa.concat_tables(tables, promote_options="permissive")
        return self.mapping.apply(source), _id_column(source, self.mapping)


def _row_groups(path: Path, first: int, stop: int) -> tuple[int, list[int]]:
    """The row groups of a Parquet file that hold rows ``[first, stop)``, and the row number
    the first of them starts at."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{path}: cannot read parquet file: {error}") from None
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    starts = np.concatenate(([0], np.cumsum(sizes)))
    groups = [i for i in range(len(sizes)) if starts[i] < stop and starts[i + 1] > first]
    return (int(starts[groups[0]]) if groups else 0), groups


class _TablePartitions:
    """An in-memory table in time order: the client ships each partition's rows."""

    def __init__(self, ordered: Any, created: npt.NDArray[np.int64]) -> None:
        self.ordered, self.created = ordered, created

    def part(self, client: Any, begin: int, end: int) -> Any:
        return client.scatter(self.ordered.slice(begin, end - begin), hash=False)


@dataclass(frozen=True)
class _FilePartitions:
    """Input files in time order, planned from their ``id`` and ``created`` columns only:
    the workers read their partitions themselves."""

    files: tuple[tuple[Path, str, int], ...]  # path, format, rows
    created: npt.NDArray[np.int64]
    mapping: ColumnMapping
    batch_size: int

    @classmethod
    def plan(
        cls, files: list[tuple[Path, str]], mapping: ColumnMapping, batch_size: int
    ) -> _FilePartitions:
        """Reads the id and created columns of every file: checks time order and unique ids."""
        import pyarrow as pa

        keys = ColumnMapping({k: v for k, v in mapping.columns.items() if k in ("id", "created")})
        wanted = [keys.input_id, keys.columns.get("created", "created")]
        sized, created, ids = [], [], []
        last: int | None = None
        for path, fmt in files:
            rows = 0
            for batch in _batches(path, fmt, batch_size, mapping, columns=wanted):
                table = pa.Table.from_batches([batch])
                try:
                    events = keys.apply(
                        table.select([c for c in wanted if c in table.column_names])
                    )
                    last = _check_order(events, path, rows, last)
                    seconds = _created_seconds(events)
                except SchemaError as error:
                    raise _in_file(path, rows)(error) from None
                if seconds is None:
                    raise _in_file(path, rows)(SchemaError("created: required column is missing"))
                created.append(seconds)
                if "id" in events.column_names:
                    ids.append(events.column("id"))
                rows += batch.num_rows
            sized.append((path, fmt, rows))
        _check_ids(pa.chunked_array(ids) if ids else None, "input")
        return cls(tuple(sized), np.concatenate(created), mapping, batch_size)

    def part(self, client: Any, begin: int, end: int) -> _FileSlice:
        pieces, offset = [], 0
        for path, fmt, rows in self.files:
            if offset < end and offset + rows > begin:
                pieces.append((path, fmt, max(begin - offset, 0), min(end - offset, rows)))
            offset += rows
        return _FileSlice(tuple(pieces), self.mapping, self.batch_size)


def _load(part: Any) -> tuple[Any, tuple[str, Any] | None]:
    return part.read() if isinstance(part, _FileSlice) else (part, None)


def _score_partition(
    scorer: _Scorer, part: Any, warmup: Any = None, state: bytes | None = None
) -> Any:
    extractor = FeatureExtractor()
    if state is not None:
        extractor.restore(state)
    if warmup is not None:
        rows, _ = _load(warmup)
        if rows.num_rows:
            extractor.extract_many(rows, sort=False)
    events, ids = _load(part)
    scored = scorer.score(extractor, events)
    return scored if ids is None else scored.add_column(0, *ids)


def _advance(state: bytes | None, part: Any) -> bytes:
    extractor = FeatureExtractor()
    if state is not None:
        extractor.restore(state)
    extractor.extract_many(_load(part)[0], sort=False)
    return extractor.snapshot()


def _score_dask(
    client: Any, scorer: _Scorer, source: _TablePartitions | _FilePartitions, partitions: int | None
) -> Iterator[Any]:
    """The scored partitions, in time order (see the module docstring)."""
    created = source.created
    if partitions is None:
        partitions = 2 * max(1, sum(client.nthreads().values()))
    if partitions < 1:
        raise ValueError(f"partitions must be >= 1, got {partitions}")
    bounds = np.linspace(0, len(created), min(partitions, len(created)) + 1).astype(np.int64)
    remote_scorer = client.scatter(scorer, broadcast=True)
    long_windows = reads_long_windows(scorer.model, scorer.rules)
    futures, state = [], None
    for begin, end in itertools.pairwise(bounds):
        part = source.part(client, int(begin), int(end))
        if long_windows:
            futures.append(client.submit(_score_partition, remote_scorer, part, None, state))
            state = client.submit(_advance, state, part)
        else:
            first = int(np.searchsorted(created, created[begin] - WARMUP_SECONDS, side="left"))
            warmup = source.part(client, first, int(begin)) if first < begin else None
            futures.append(client.submit(_score_partition, remote_scorer, part, warmup))
    for future in futures:
        yield future.result()
        future.release()


def _time_order(events: Any) -> tuple[npt.NDArray[np.int64] | None, npt.NDArray[np.int64]]:
    """The stable ``created`` order of a table (``None`` when it is sorted already) and the
    ``created`` values in that order; the required columns are checked as the replay would."""
    required = [n for n in ("id", "created", "amount", "currency") if n in events.column_names]
    created = pack_many(events.select(required)).created
    if bool(np.all(created[1:] >= created[:-1])):
        return None, created
    order = np.argsort(created, kind="stable").astype(np.int64)
    return order, created[order]


def _created_seconds(events: Any) -> npt.NDArray[np.int64] | None:
    """``created`` as Unix seconds (``None`` when absent or not a time: the replay rejects it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if "created" not in events.column_names:
        return None
    column = events.column("created")
    if pa.types.is_timestamp(column.type):
        column = pc.cast(pc.cast(column, pa.timestamp("s")), pa.int64())
    elif not pa.types.is_integer(column.type):
        return None
    values = pc.cast(column, pa.int64()).combine_chunks()
    if values.null_count:
        first = int(np.flatnonzero(~values.is_valid().to_numpy(zero_copy_only=False))[0])
        raise SchemaError(f"created: required field is missing (row {first})")
    return np.asarray(values.to_numpy(), dtype=np.int64)


def _concat(tables: list[Any]) -> Any:
    import pyarrow as pa

    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def _indices(values: npt.NDArray[np.int64]) -> Any:
    import pyarrow as pa

    return pa.array(values)


def _threads(threads: int | None) -> int:
    if threads is None:
        if hasattr(os, "sched_getaffinity"):
            return len(os.sched_getaffinity(0))
        return os.cpu_count() or 1
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int or None, got {threads!r}")
    return threads


def _id_column(source: Any, mapping: ColumnMapping) -> tuple[str, Any]:
    name = mapping.input_id
    if name not in source.column_names:
        raise SchemaError(f"{name}: required column is missing")
    return name, source.column(name)


def _with_id(source: Any, mapping: ColumnMapping, scored: Any) -> Any:
    return scored.add_column(0, *_id_column(source, mapping))


def _check_options(contributions: int, batch_size: int) -> None:
    if isinstance(contributions, bool) or not isinstance(contributions, int) or contributions < 0:
        raise ValueError(f"contributions must be a non-negative int, got {contributions!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")


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
    created = _created_seconds(events) if events.num_rows else None
    if created is None:
        return last
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


def _batches(
    path: Path,
    fmt: str,
    batch_size: int,
    mapping: ColumnMapping,
    columns: Sequence[str] | None = None,
    row_groups: Sequence[int] | None = None,
) -> Iterator[Any]:
    """Record batches of one file (Parquet: only ``columns`` of them that exist and only
    ``row_groups``, when given); unreadable files raise ``InputError`` naming the file."""
    import pyarrow as pa
    import pyarrow.csv as csv
    import pyarrow.parquet as pq

    try:
        if fmt == "parquet":
            parquet = pq.ParquetFile(path)
            if columns is not None:
                columns = [c for c in columns if c in parquet.schema_arrow.names]
            yield from parquet.iter_batches(
                batch_size=batch_size, columns=columns, row_groups=row_groups
            )
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
