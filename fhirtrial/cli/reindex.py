"""``fhirtrial reindex``: rebuild every search index row from the stored resources (https://hl7.org/fhir/R4/search.html)."""
from __future__ import annotations

import sys
import time
from typing import Optional

import typer


def reindex_command(
    types: list[str] = typer.Option([], "--type", "-t", help="Only these resource types (repeatable)."),
    batch: int = typer.Option(500, "--batch", "-b", min=1, help="Resources per transaction."),
    database_url: Optional[str] = typer.Option(None, "--database-url", envvar="FHIRTRIAL_DATABASE_URL",
                                               help="Database (default: the server's setting)."),
) -> None:
    """Recompute the index rows (tokens, strings, dates, ..., full text) of every current resource."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..errors import FhirError
    from ..search.extract import FhirPathIndexer
    from ..store import deferred
    from ..store.reindex import count_current, rebuild
    from ..store.sql import open_repository

    if database_url is None:
        from ..config import get_settings

        database_url = get_settings().database_url
    started = time.perf_counter()
    with open_repository(database_url, FhirPathIndexer(), pool_size=2) as repo:
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
    print(f"reindexed {done} resources in {time.perf_counter() - started:.1f} s", file=sys.stderr)
