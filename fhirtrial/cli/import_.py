"""``fhirtrial import``: load ClinicalTrials.gov API v2 records (files, NDJSON, directories, the bulk-download
zip) into the database, fast, resumable and honest about failures (https://clinicaltrials.gov/data-api/api)."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from ..ingest.pipeline import DEFAULT_BATCH, Summary, run_import
from .database import database_url as resolve_database

MAX_DEFAULT_JOBS = 8


def import_command(
    paths: list[Path] = typer.Argument(..., help="Study JSON, list responses, NDJSON, directories or bulk zips."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1,
                                       help="Worker processes for mapping and indexing (default: one per CPU, "
                                            "at most 8)."),
    batch: int = typer.Option(DEFAULT_BATCH, "--batch", "-b", min=1, help="Studies per database transaction."),
    errors: Optional[Path] = typer.Option(None, "--errors", "-e",
                                          help="Error report (JSON lines); default import-errors-<time>.jsonl."),
    database_url: Optional[str] = typer.Option(None, "--database-url",
                                               help="Database (default: the server's FHIRTRIAL_DATABASE_URL, "
                                                    "else the data directory's)."),
    validate: bool = typer.Option(True, "--validate/--no-validate",
                                  help="Validate every resource as a REST write is (FHIRTRIAL_VALIDATION decides "
                                       "whether content errors refuse the study or are reported); --no-validate "
                                       "skips it, for trusted re-imports only."),
    bulk: Optional[bool] = typer.Option(None, "--bulk/--no-bulk",
                                        help="Build the search indexes once at the end instead of row by row "
                                             "(default: when the input has 10,000 studies or more and at least "
                                             "as many as are stored)."),
) -> None:
    """Import studies; exit 0 when all were stored, 1 when some failed, 2 when the input cannot be read."""
    from ..ingest.items import SourceError
    from ..ingest.prepare import default_indexer
    from ..ingest.progress import Progress
    from ..ingest.report import ErrorReport
    from ..store.bulk import BulkWriter
    from .database import open_or_exit, shown

    database_url = resolve_database(database_url)
    database = shown(database_url)
    print(f"importing into {database}", file=sys.stderr, flush=True)
    report_path = errors or Path(f"import-errors-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.jsonl")
    report = ErrorReport(report_path, always=errors is not None)
    progress = Progress()
    summary = Summary()

    def on_batch(current: Summary, results: list) -> None:  # type: ignore[type-arg]
        report.add(results)
        progress.update(current, results)

    if jobs is None:  # the writer shares the CPUs, but 2 workers on 2 cores still import 1.3x faster than 1
        jobs = min(os.cpu_count() or 1, MAX_DEFAULT_JOBS)
    repo = open_or_exit(database_url, default_indexer(), pool_size=2)
    try:
        def on_index(name: str, seconds: float) -> None:
            progress.close()
            print(f"built {name} in {seconds:.1f} s", file=sys.stderr, flush=True)

        run_import(list(paths), BulkWriter(repo), jobs=jobs, batch=batch, validate=validate, on_batch=on_batch,
                   summary=summary, bulk=bulk, on_index=on_index)
    except SourceError as exc:
        progress.close()
        typer.echo(f"error: {exc.diagnostics}", err=True)
        raise typer.Exit(2) from None
    finally:
        progress.close()
        report.close()
        repo.close()
    print(progress.final(summary), file=sys.stderr)
    print(f"database: {database}", file=sys.stderr)
    if report.written:
        print(f"error report: {report.path} ({report.lines} lines)", file=sys.stderr)
    raise typer.Exit(1 if summary.failed else 0)
