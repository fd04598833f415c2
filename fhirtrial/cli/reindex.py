"""``fhirtrial reindex``: rebuild every search index row from the stored resources (https://hl7.org/fhir/R4/search.html)."""
from __future__ import annotations

import sys
import time
from typing import Optional

import typer


def reindex_command(
    types: list[str] = typer.Option([], "--type", "-t", help="Only these resource types (repeatable, or a comma "
                                                              "list)."),
    batch: int = typer.Option(500, "--batch", "-b", min=1, help="Resources per transaction."),
    database_url: Optional[str] = typer.Option(None, "--database-url",
                                               help="Database (default: the server's FHIRTRIAL_DATABASE_URL, "
                                                    "else the data directory's)."),
) -> None:
    """Recompute the index rows (tokens, strings, dates, ..., full text) of every current resource."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..errors import FhirError
    from ..resources import RESOURCE_TYPE_SET
    from ..search.extract import FhirPathIndexer
    from ..store import deferred
    from ..store.reindex import count_current, rebuild
    from .database import database_url as resolve_database, open_or_exit, shown

    types = [t.strip() for v in types for t in v.split(",") if t.strip()]
    unknown = [t for t in types if t not in RESOURCE_TYPE_SET]
    if unknown:
        typer.echo(f"error: unknown resource type(s): {', '.join(unknown)} (served: "
                   f"{', '.join(sorted(RESOURCE_TYPE_SET))})", err=True)
        raise typer.Exit(2)
    database_url = resolve_database(database_url)
    database = shown(database_url)
    print(f"reindexing {database}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    with open_or_exit(database_url, FhirPathIndexer(), pool_size=2) as repo:
        for name in deferred.build(repo.engine):  # left by an interrupted bulk import
            print(f"built {name}", file=sys.stderr)
        total = count_current(repo, types)
        with Progress(TextColumn("reindex"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      transient=not sys.stderr.isatty(), console=None) as progress:
            task = progress.add_task("reindex", total=total)
            try:
                done = rebuild(repo, types or None, batch=batch, on_batch=lambda n: progress.advance(task, n))
            except FhirError as exc:  # a parameter that cannot be indexed: that batch keeps its old rows
                progress.stop()
                typer.echo(f"error: {exc.diagnostics}", err=True)
                raise typer.Exit(1) from None
    print(f"reindexed {done} resources of {database} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
