"""``fhirtrial synth``: realistic synthetic ClinicalTrials.gov API v2 records for scale tests (https://clinicaltrials.gov/data-api/api)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from ..ingest.synth import ID_SPACE, generate
from ..ingest.synth_files import output_kind, write_records


def synth_command(
    studies: int = typer.Option(..., "--studies", "-n", min=1, max=ID_SPACE, help="How many studies to write."),
    seed: int = typer.Option(0, "--seed", "-s", help="Same seed, same bytes."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file: .ndjson/.jsonl, or .zip (bulk-download shape)."),
) -> None:
    """Write N synthetic API v2 study records (NCT9xxxxxxx ids), deterministic by seed."""
    try:
        output_kind(output)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    started = time.perf_counter()
    written = write_records(generate(studies, seed), output)
    took = time.perf_counter() - started
    rate = written / took if took else float("inf")
    print(f"wrote {written} studies to {output} in {took:.1f} s ({rate:,.0f} studies/s)", file=sys.stderr)
