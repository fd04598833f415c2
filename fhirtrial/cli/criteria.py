"""``fhirtrial criteria FILE|DIR``: how far each corpus' criteria are coded, https://hl7.org/fhir/R4/group.html."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ..criteria.tally import Tally
from ..ingest.items import SourceError
from ..ingest.sources import iter_records


def criteria_command(paths: list[Path] = typer.Argument(..., help="API v2 records: files, NDJSON, directories, zip.")
                     ) -> None:
    """Print, by category, how many criteria were fully, partly or not coded."""
    tally = Tally()
    errors = 0
    try:
        for item in iter_records(paths):
            if item.record is None:
                errors += 1
                typer.echo(f"warning: {item.origin}: {item.error}", err=True)
                continue
            tally.add_record(item.record)
    except SourceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if errors and not tally.studies:
        typer.echo("error: no study could be read", err=True)
        raise typer.Exit(2)
    table = Table(title="Eligibility criteria coded, by category")
    for name in ("category", "criteria", "fully coded", "partly coded", "text only"):
        table.add_column(name, justify="left" if name == "category" else "right")
    for category, total, full, partial in tally.rows():
        table.add_row(category, str(total), str(full), str(partial), str(total - full - partial))
    console = Console(width=100)
    console.print(table)
    console.print(tally.summary())
    if errors:
        raise typer.Exit(1)
