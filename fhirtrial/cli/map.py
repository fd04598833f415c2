"""``fhirtrial map FILE``: one CT.gov API v2 record to a FHIR transaction Bundle, https://hl7.org/fhir/R4/bundle.html."""
from __future__ import annotations

import sys

import orjson
import typer

from ..mapping import MappingError, MappingTableError, map_study


def map_file(file: str = typer.Argument(..., help="API v2 study record (JSON); '-' reads standard input.")) -> None:
    """Print the study's transaction Bundle (JSON) on stdout; warnings and errors go to stderr."""
    try:
        data = sys.stdin.buffer.read() if file == "-" else open(file, "rb").read()
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    try:
        record = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        typer.echo(f"error: {file}: not JSON: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        mapped = map_study(record)
    except (MappingError, MappingTableError) as exc:
        typer.echo(f"error: {file}: {exc}", err=True)
        raise typer.Exit(1) from None
    for warning in mapped.warnings:
        typer.echo(f"warning: {warning}", err=True)
    sys.stdout.buffer.write(orjson.dumps(mapped.bundle(), option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()
