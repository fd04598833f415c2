"""``fhirtrial import``: sources -> (dedupe) -> map + validate + index (worker processes) -> bulk write.

https://clinicaltrials.gov/data-api/api (input) and https://hl7.org/fhir/R4/http.html#update (what is stored).
Idempotent by construction: a study whose content is already stored makes no new version, so a run that was
killed part-way is completed by running the same command again.
"""
from __future__ import annotations

import math
import multiprocessing
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..search.index import Indexer
from ..store.bulk import BulkWriter, StudyResult
from ..store.prepared import PreparedStudy
from .dedupe import dedupe_last_wins
from .items import Origin, SourceItem, study_item
from .prepare import (SeenShared, failed_item, init_worker, prepare_chunk_in_worker, prepare_in_worker,
                      prepare_record)

DEFAULT_BATCH = 500
_CHUNK = 16
PARALLEL_MIN = 200  # studies below which an import prepares them in its own process
_SHARDS_PER_BATCH = 8  # a batch is whole shards (chunks), at most this many (SQLite attaches at most 10)


@dataclass
class Summary:
    """Counts of one run: studies by outcome, and resources by outcome."""

    studies: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("created", "updated", "unchanged", "failed", "superseded"), 0))
    resources: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("created", "updated", "unchanged"), 0))
    total: int | None = None  # studies in the input (known after the dedupe pass)
    warned: int = 0  # resources stored with the validator's warnings (FHIRTRIAL_VALIDATION=warning)

    @property
    def done(self) -> int:
        return sum(v for k, v in self.studies.items() if k != "superseded")

    @property
    def resources_done(self) -> int:
        return sum(self.resources.values())

    @property
    def failed(self) -> int:
        return self.studies["failed"]

    def add(self, result: StudyResult) -> None:
        if result.study.stage == "duplicate":
            self.studies["superseded"] += 1
            return
        self.studies[result.outcome] += 1
        for res in result.resources:
            self.resources[res.outcome] += 1
        if result.error is None:
            self.warned += sum(1 for p in result.study.resources or () if p.warnings)

    def as_dict(self) -> dict[str, Any]:
        return {"studies": dict(self.studies), "resources": dict(self.resources), "warned": self.warned}


class _Counted:
    """The source callable for dedupe_last_wins, counting the items of its first pass."""

    def __init__(self, source: Callable[[], Iterable[SourceItem]]) -> None:
        self.source = source
        self.calls = 0
        self.count: int | None = None

    def __call__(self) -> Iterator[SourceItem]:
        self.calls += 1
        if self.calls > 1:
            yield from self.source()
            return
        n = 0
        for item in self.source():
            n += 1
            yield item
        self.count = n


def _task(item: SourceItem) -> tuple[Any, ...]:
    superseded = str(item.superseded_by) if item.superseded_by is not None else None
    return item.record, item.nct_id, str(item.origin), item.error, superseded


class _Window:
    """Bounds how far the pool's feeder thread reads ahead (Pool.imap alone would read the whole input)."""

    def __init__(self, items: Iterable[Any], size: int) -> None:
        self.items = items
        self.slots = threading.Semaphore(size)

    def __iter__(self) -> Iterator[Any]:
        for item in self.items:
            self.slots.acquire()
            yield item

    def release(self) -> None:
        self.slots.release()


def prepared_studies(items: Iterable[SourceItem], *, jobs: int, indexer: Indexer, validate: bool = True,
                     strictness: str = "error", batch: int = DEFAULT_BATCH) -> Iterator[PreparedStudy]:
    """Prepared studies in input order: in this process (jobs <= 1) or in ``jobs`` worker processes."""
    if jobs <= 1:
        seen = SeenShared()
        for item in items:
            if item.record is None:
                yield failed_item(item)
            else:
                yield prepare_record(item.record, item.nct_id, str(item.origin), indexer, validate=validate,
                                     strictness=strictness, seen=seen)
        return
    # The platform's default start method (spawn on Windows and macOS, forkserver from Python 3.14): workers get
    # everything through init_worker's arguments and the tasks, never by inheriting this process's memory.
    ctx = multiprocessing.get_context()
    # The workers keep preparing the next batch while the writer stores this one: the window holds more than
    # a batch (a smaller one stalls them during every write).
    window = _Window((_task(i) for i in items), max(jobs * _CHUNK * 8, 2 * batch + jobs * _CHUNK))
    with ctx.Pool(jobs, initializer=init_worker, initargs=(validate, strictness)) as pool:
        for prepared in pool.imap(prepare_in_worker, window, chunksize=_CHUNK):
            window.release()
            yield prepared


def sharded_chunks(items: Iterable[SourceItem], directory: Path, *, jobs: int, validate: bool = True,
                   strictness: str = "error", batch: int = DEFAULT_BATCH) -> Iterator[list[PreparedStudy]]:
    """Prepared studies in input order, a chunk at a time, each chunk's rows in a shard file (store.shard) in
    ``directory`` that the writer moves into the store; the caller deletes a chunk's shard once written.
    ``batch`` whole chunks make at most _SHARDS_PER_BATCH shards."""
    size = max(1, math.ceil(batch / _SHARDS_PER_BATCH))

    def chunks() -> Iterator[tuple[list[tuple[Any, ...]], str]]:
        chunk: list[tuple[Any, ...]] = []
        n = 0
        for item in items:
            chunk.append(_task(item))
            if len(chunk) >= size:
                n += 1
                yield chunk, str(directory / f"{n}.db")
                chunk = []
        if chunk:
            yield chunk, str(directory / f"{n + 1}.db")

    ctx = multiprocessing.get_context()
    # Two batches in flight besides the one being written, so the workers never wait for the writer.
    window = _Window(chunks(), 2 * _SHARDS_PER_BATCH + 2 * jobs)
    with ctx.Pool(jobs, initializer=init_worker, initargs=(validate, strictness)) as pool:
        for studies in pool.imap(prepare_chunk_in_worker, window, chunksize=1):
            window.release()
            yield studies


def run_import(paths: list[Path | str], writer: BulkWriter, *, jobs: int = 1, batch: int = DEFAULT_BATCH,
               validate: bool = True, strictness: str | None = None,
               on_batch: Callable[[Summary, list[StudyResult]], None] | None = None,
               summary: Summary | None = None, bulk: bool | None = False,
               on_index: Callable[[str, float], None] | None = None) -> Summary:
    """Import every study of ``paths``; ``on_batch`` sees the running summary and each written batch.

    Every resource goes through the server's one validator (fhirtrial.validation) under ``strictness``
    (default ``Settings.validation``), as a REST write does (ingest/prepare.validation_issues); ``validate=False``
    skips it.

    ``bulk``: set the search indexes aside while loading and build them at the end (store.deferred): True
    always, None when the input is large enough to gain from it, False never. With True or None the indexes
    an earlier, interrupted import set aside are built at the end too; ``on_index`` sees each one built.
    Raises SourceError (exit code 2) when nothing at all can be read."""
    from .sources import iter_records

    return import_items(lambda: iter_records(paths), writer, jobs=jobs, batch=batch, validate=validate,
                        strictness=strictness, on_batch=on_batch, summary=summary, bulk=bulk, on_index=on_index)


def import_records(records: Iterable[Any], writer: BulkWriter, *, origin: str = "records",
                   **options: Any) -> Summary:
    """Import study records already in memory (e.g. the examples of ``serve --load-examples``), with the options
    of run_import; a value that is not a study is reported like a bad input line."""
    values = list(records)
    return import_items(lambda: (study_item(v, Origin(origin, index=n)) for n, v in enumerate(values)), writer,
                        **options)


def import_items(source: Callable[[], Iterable[SourceItem]], writer: BulkWriter, *, jobs: int = 1,
                 batch: int = DEFAULT_BATCH, validate: bool = True, strictness: str | None = None,
                 on_batch: Callable[[Summary, list[StudyResult]], None] | None = None,
                 summary: Summary | None = None, bulk: bool | None = False,
                 on_index: Callable[[str, float], None] | None = None) -> Summary:
    """run_import over any re-iterable source of items (``source()`` is called once per dedupe pass)."""
    from ..validation import strictness_of

    strictness = strictness_of(strictness)
    summary = summary or Summary()
    counted = _Counted(source)
    items = dedupe_last_wins(counted)

    # The first item ends the dedupe pass: SourceError surfaces here, in this thread, and the total is known.
    first = next(items, None)
    summary.total = counted.count
    if bulk is not False:
        writer.defer_indexes(summary.total or 0, force=bulk is True)

    def with_total() -> Iterator[SourceItem]:
        if first is not None:
            yield first
        yield from items

    pending: list[PreparedStudy] = []

    def flush() -> None:
        results = writer.write(pending)
        for shard in {s.shard for s in pending if s.shard is not None}:
            Path(shard).unlink(missing_ok=True)
        pending.clear()
        for result in results:
            summary.add(result)
        if on_batch is not None:
            on_batch(summary, results)

    if (summary.total or 0) < PARALLEL_MIN:
        jobs = 1  # starting workers costs more than they save on a few studies
    directory: Path | None = None
    chunks: Iterable[list[PreparedStudy]]
    if jobs > 1 and writer.shards:
        from ..store.shard import shard_dir

        directory = shard_dir()
        chunks = sharded_chunks(with_total(), directory, jobs=jobs, validate=validate, strictness=strictness,
                                batch=batch)
    else:
        chunks = ([prepared] for prepared in prepared_studies(with_total(), jobs=jobs, indexer=writer.indexer,
                                                               validate=validate, strictness=strictness, batch=batch))
    try:
        for chunk in chunks:
            pending.extend(chunk)
            if len(pending) >= batch:
                flush()
        if pending:
            flush()
    finally:
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
    if bulk is not False:
        writer.build_indexes(on_index)
    return summary
