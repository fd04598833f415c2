"""``fhirtrial serve``: run the FHIR server with uvicorn, https://hl7.org/fhir/R4/http.html."""
from __future__ import annotations

import os

import typer
import uvicorn
from rich.console import Console

from ..config import get_settings


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 in containers)."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, min=1, help="Server processes (use PostgreSQL for more than one)."),
    load_examples: bool = typer.Option(False, "--load-examples", help="Store the studies in examples/ first."),
    open_writes: bool = typer.Option(False, "--open-writes",
                                     help="Local testing only: accept writes without a token."),
) -> None:
    """Start the FHIR server."""
    console = Console(stderr=True)
    if open_writes:
        os.environ["FHIRTRIAL_ALLOW_ANONYMOUS_WRITES"] = "true"
        get_settings.cache_clear()
    settings = get_settings()
    origin = f"http://{'localhost' if host in ('0.0.0.0', '::') else host}:{port}"
    base = settings.base_url or f"{origin}{settings.base_path}"
    # The trial finder's pages sit at the root of the same server (none when the FHIR API takes the root).
    pages = None
    if path := settings.base_path.rstrip("/"):
        pages = (base[:-len(path)] if base.rstrip("/").endswith(path) else origin) + "/"
    if load_examples:
        from ..loading import load_examples as load
        from ..store.sql import open_repository

        repo = open_repository(settings.database_url)
        try:
            n = load(repo, settings.examples_dir, base)
        finally:
            repo.close()
        console.print(f"loaded {n} example studies from {settings.examples_dir}")
    console.print(f"fhirtrial serving FHIR R4 at [bold]{base}[/bold] (database {settings.database_url})")
    print(base, flush=True)
    if pages:
        console.print(f"trial finder pages at [bold]{pages}[/bold]")
        print(pages, flush=True)
    uvicorn.run("fhirtrial.rest.app:asgi", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)
