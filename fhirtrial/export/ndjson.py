"""Current resources as NDJSON, one file per type, streaming in constant memory.

https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-output-file-request -- each line is one resource as
stored (compact JSON, no newline inside). Files are written as ``<Type>.ndjson.part`` and renamed when complete,
so a reader never sees half a file under the final name. Used by ``fhirtrial export --all`` and ``$export`` jobs.

Every resource is written as it was at the export's ``transaction_time`` (store/scan.py looks through later
changes), so a system or type-filtered export interrupted after some files were finished can resume with the
remaining types and the same ``transaction_time`` and write exactly what one uninterrupted run would have.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import orjson

from ..store import scan
from .graph import Key, references

# tick(resources written so far, total expected or None): called after every batch; may raise to stop.
Tick = Callable[[int, "int | None"], None]
# visible(type, body): whether a resource may be written (a public export leaves patient data out).
Visible = Callable[[str, bytes], bool]
# finished(type, resources written): a type's file is complete under its final name.
Finished = Callable[[str, int], None]
SUFFIX = ".ndjson"


@dataclass
class NdjsonResult:
    transaction_time: datetime
    counts: dict[str, int] = field(default_factory=dict)  # type -> resources written (types with >= 1 only)
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class _Writers:
    """One buffered file per type, opened on its first resource."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.handles: dict[str, IO[bytes]] = {}
        self.counts: dict[str, int] = {}
        self.files: dict[str, Path] = {}

    def write(self, resource_type: str, bodies: list[bytes]) -> None:
        self.write_lines(resource_type, b"".join(b + b"\n" for b in bodies), len(bodies))

    def write_lines(self, resource_type: str, ndjson: bytes, count: int) -> None:
        """Append ``count`` resources given as NDJSON (each line ending in a newline)."""
        handle = self.handles.get(resource_type)
        if handle is None:
            handle = open(self.directory / f"{resource_type}{SUFFIX}.part", "wb", buffering=1 << 20)  # noqa: SIM115
            self.handles[resource_type] = handle
            self.counts[resource_type] = 0
        handle.write(ndjson)
        self.counts[resource_type] += count

    def close(self, resource_type: str) -> Path | None:
        """Complete one type's file (flushed to disk, then renamed); None if nothing was written for it."""
        handle = self.handles.pop(resource_type, None)
        if handle is None:
            return None
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        final = self.directory / f"{resource_type}{SUFFIX}"
        os.replace(self.directory / f"{resource_type}{SUFFIX}.part", final)
        self.files[resource_type] = final
        return final

    def finish(self) -> dict[str, Path]:
        for rt in list(self.handles):
            self.close(rt)
        return self.files

    def abort(self) -> None:
        for rt, handle in self.handles.items():
            handle.close()
            (self.directory / f"{rt}{SUFFIX}.part").unlink(missing_ok=True)
        self.handles.clear()


def export_ndjson(repo: Any, directory: Path, *, types: Iterable[str] | None = None,
                  since: datetime | None = None, scope: str | None = None, batch: int = scan.DEFAULT_BATCH,
                  tick: Tick | None = None, visible: Visible | None = None,
                  transaction_time: datetime | None = None, done: dict[str, int] | None = None,
                  finished: Finished | None = None) -> NdjsonResult:
    """Write current resources to ``directory`` (created if needed).

    ``types``: only these types (default: every type present). ``since``: only resources changed at or after it.
    ``scope``: a resource type for a type-level export (``ResearchStudy/$export``): the resources of that type
    plus everything they reference, transitively; ``types`` then filters what is written, not what is walked.
    Resources are written as they were at ``transaction_time`` (default: now); a change after it is left for
    the next incremental export. ``visible``: resources it rejects are not written, and not walked through.
    Without ``scope``, each type's file is completed before the next type begins and reported to ``finished``;
    ``done`` (type -> resources written) names the files an interrupted run already finished in ``directory``
    with the same ``transaction_time``: they are kept, and not written again.
    """
    directory.mkdir(parents=True, exist_ok=True)
    wanted = None if types is None else list(dict.fromkeys(types))
    writers = _Writers(directory)
    for rt, n in (done or {}).items():
        if n:
            writers.counts[rt] = n
            writers.files[rt] = directory / f"{rt}{SUFFIX}"
    try:
        with scan.snapshot(repo) as conn:
            at = transaction_time or datetime.now(timezone.utc)
            if scope is None:
                _system(conn, writers, wanted, since, at, batch, tick, visible, done or {}, finished)
            else:
                _scoped(conn, writers, scope, wanted, since, at, batch, tick, visible)
        files = writers.finish()
    except BaseException:
        writers.abort()
        raise
    return NdjsonResult(at, dict(writers.counts), files)


def _shown(rows: list[scan.Row], visible: Visible | None) -> list[scan.Row]:
    return rows if visible is None else [r for r in rows if visible(r.resource_type, r.body)]


def _system(conn: Any, writers: _Writers, wanted: list[str] | None, since: datetime | None, until: datetime,
            batch: int, tick: Tick | None, visible: Visible | None, done_types: dict[str, int],
            finished: Finished | None) -> None:
    type_list = wanted if wanted is not None else scan.types_present(conn, until=until)
    todo = [rt for rt in type_list if rt not in done_types]
    done = sum(done_types.values())
    total = done + sum(scan.counts(conn, todo, since=since, until=until).values()) if todo else done
    if tick:
        tick(done, total)
    for rt in todo:
        if visible is None:  # every resource is written: the database hands over whole batches of lines
            for chunk in scan.lines(conn, rt, since=since, until=until, batch=batch):
                if chunk.count or chunk.changed:
                    writers.write_lines(rt, chunk.ndjson, chunk.count)
                if chunk.changed:
                    writers.write(rt, [scan.one_line(r.body) for r in chunk.changed])
                done += chunk.looked_at
                if tick:
                    tick(done, total)
        else:
            for rows in scan.scan(conn, rt, since=since, until=until, batch=batch):
                shown = _shown(rows, visible)
                if shown:
                    writers.write(rt, [scan.one_line(r.body) for r in shown])
                done += len(rows)
                if tick:
                    tick(done, total)
        writers.close(rt)
        if finished:
            finished(rt, writers.counts.get(rt, 0))


def _scoped(conn: Any, writers: _Writers, scope: str, wanted: list[str] | None, since: datetime | None,
            until: datetime, batch: int, tick: Tick | None, visible: Visible | None = None) -> None:
    """The scope type's resources, then the closure of their references, level by level per batch.

    ``seen`` holds the keys of referenced resources already handled (memory grows with the number of distinct
    shared resources, not with the number of scope resources)."""
    keep = None if wanted is None else set(wanted)
    roots_total = scan.count(conn, scope, since=since, until=until)
    seen: set[Key] = set()
    done_roots = 0
    if tick:
        tick(0, roots_total)

    def emit(rows: list[scan.Row]) -> None:
        by_type: dict[str, list[bytes]] = {}
        for r in rows:
            if (keep is None or r.resource_type in keep) and (since is None or r.last_updated >= since) \
                    and r.last_updated <= until:
                by_type.setdefault(r.resource_type, []).append(scan.one_line(r.body))
        for rt, bodies in by_type.items():
            writers.write(rt, bodies)

    for batch_roots in scan.scan(conn, scope, since=since, until=until, batch=batch):
        seen.update((r.resource_type, r.id) for r in batch_roots)
        roots = _shown(batch_roots, visible)
        emit(roots)
        level = roots
        while level:
            refs: list[Key] = []
            for row in level:
                for key in references(orjson.loads(row.body)):
                    if key not in seen:
                        seen.add(key)
                        refs.append(key)
            if not refs:
                break
            # a referenced resource of the scope type outside the _since window is still walked, not re-emitted
            level = _shown(list(scan.fetch(conn, refs).values()), visible)
            emit([r for r in level if r.resource_type != scope])
        done_roots += len(batch_roots)
        if tick:
            tick(done_roots, roots_total)
