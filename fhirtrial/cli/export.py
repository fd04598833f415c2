"""``fhirtrial export``: one study as a Bundle, or everything as NDJSON (one file per type).

https://hl7.org/fhir/R4/bundle.html, https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-output-file-request
"""
from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Optional

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
    TimeRemainingColumn

from ..errors import FhirError
from ..resources import RESOURCE_TYPE_SET


def _since(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{raw!r} is not an instant such as 2024-01-31T10:00:00Z",
                                 param_hint="--since") from None
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{raw!r} needs a time zone", param_hint="--since")
    return moment


def export_command(
    study: Optional[str] = typer.Option(None, "--study", help="Export one study (its ResearchStudy id, the NCT id) "
                                                              "and everything it references as a Bundle."),
    all_: bool = typer.Option(False, "--all", help="Export every current resource as NDJSON, one file per type."),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="--study: the Bundle file (default stdout); --all: the directory."),
    as_transaction: bool = typer.Option(False, "--as-transaction",
                                        help="--study: a transaction Bundle of PUTs (loads into any FHIR server)."),
    base: Optional[str] = typer.Option(None, "--base", help="--study: absolute fullUrls on this base "
                                                            "(default: urn:uuid fullUrls)."),
    types: list[str] = typer.Option([], "--type", "-t", help="--all: only this type (repeatable, or comma list)."),
    since: Optional[str] = typer.Option(None, "--since", help="--all: only resources changed at or after this "
                                                              "instant."),
    database_url: Optional[str] = typer.Option(None, "--database-url",
                                               help="Database (default: the server's FHIRTRIAL_DATABASE_URL, "
                                                    "else the data directory's)."),
) -> None:
    """Export a study Bundle (--study) or all resources as NDJSON (--all)."""
    err = Console(stderr=True)
    if bool(study) == all_:
        err.print("error: give exactly one of --study NCT... or --all")
        raise typer.Exit(2)
    if all_ and output is None:
        err.print("error: --all needs --output DIR")
        raise typer.Exit(2)
    type_list = [t.strip() for v in types for t in v.split(",") if t.strip()]
    unknown = [t for t in type_list if t not in RESOURCE_TYPE_SET]
    if unknown:
        err.print(f"error: unknown resource type(s): {', '.join(unknown)}")
        raise typer.Exit(2)
    moment = _since(since)
    from .database import database_url as resolve_database, open_or_exit, shown

    database_url = resolve_database(database_url)
    err.print(f"exporting from {shown(database_url)}", soft_wrap=True, highlight=False, markup=False)
    repo = open_or_exit(database_url)
    try:
        if study:
            _study(repo, study, output, as_transaction, base, err)
        else:
            assert output is not None
            _all(repo, output, type_list or None, moment, err)
    finally:
        repo.close()


def _study(repo: object, study_id: str, output: Path | None, as_transaction: bool, base: str | None,
           err: Console) -> None:
    from ..export.study import collection_bundle, everything, transaction_bundle

    try:
        result = everything(repo, study_id)
    except FhirError as exc:
        err.print(f"error: {exc.diagnostics}")
        raise typer.Exit(1) from None
    payload = transaction_bundle(result) if as_transaction else collection_bundle(result, base=base)
    data = orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n"
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(data)
        err.print(f"wrote {len(result.rows)} resources of {study_id} to {output}")
    for (rt, rid), (by_t, by_id) in sorted(result.missing.items()):
        err.print(f"warning: {rt}/{rid} referenced by {by_t}/{by_id} is unknown or deleted")


def _all(repo: object, directory: Path, types: list[str] | None, since: datetime | None, err: Console) -> None:
    from ..export.ndjson import export_ndjson

    started = time.perf_counter()
    interactive = err.is_terminal
    last_line = [0.0]
    with Progress(TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TextColumn("resources"),
                  TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=err,
                  disable=not interactive) as progress:
        task = progress.add_task("export", total=None, rate="")

        def tick(done: int, total: int | None) -> None:
            took = time.perf_counter() - started
            rate = f"{done / took:,.0f}/s" if took > 0 else ""
            progress.update(task, completed=done, total=total, rate=rate)
            if not interactive and time.monotonic() - last_line[0] >= 5:
                last_line[0] = time.monotonic()
                err.print(f"exported {done:,} of {total if total is not None else '?'} resources ({rate})")

        result = export_ndjson(repo, directory, types=types, since=since, tick=tick)
    took = time.perf_counter() - started
    for rt, n in result.counts.items():
        err.print(f"  {rt}: {n:,} -> {result.files[rt]}")
    rate = result.total / took if took > 0 else float("inf")
    err.print(f"exported {result.total:,} resources in {len(result.counts)} files to {directory} in {took:.1f} s "
              f"({rate:,.0f} resources/s); transaction time {result.transaction_time.isoformat()}")
