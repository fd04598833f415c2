"""``fhirtrial serve``: run the FHIR server with uvicorn, https://hl7.org/fhir/R4/http.html."""
from __future__ import annotations

import os
import socket
import time

import typer
import uvicorn

from ..config import get_settings
from ..loading import SYNTHETIC_STUDIES

SQLITE_WORKERS_NOTE = ("note: {workers} workers on SQLite: they share the database file (one writer at a time, "
                       "readers never wait) and each keeps its own read cache, emptied by any worker's commit; "
                       "PostgreSQL scales writes")


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (e.g. another server has it), or None. Bound as uvicorn binds
    (SO_REUSEADDR), so a port only lingering in TIME_WAIT is not taken for busy."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot resolve {host!r}: {exc.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
            probe.listen(1)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 in containers)."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(1, min=1, help="Server processes. On SQLite they share the file (one writer at a "
                                               "time, a read cache each); PostgreSQL scales writes."),
    load_examples: bool = typer.Option(False, "--load-examples",
                                       help=f"First store the seed study NCT01297972 and {SYNTHETIC_STUDIES} "
                                            f"synthetic studies (idempotent)."),
    open_writes: bool = typer.Option(False, "--open-writes",
                                     help="Local testing only: with no token set, anyone may write and read "
                                          "everything, patient data included."),
    request_log: bool = typer.Option(None, "--request-log/--no-request-log", show_default=False,
                                     help="A line per request: method, path, status, ms (default: "
                                          "FHIRTRIAL_REQUEST_LOG, on)."),
) -> None:
    """Start the FHIR server."""
    from .database import shown

    overrides = {}
    if open_writes:
        overrides["FHIRTRIAL_ALLOW_ANONYMOUS_WRITES"] = "true"
    if request_log is not None:
        overrides["FHIRTRIAL_REQUEST_LOG"] = "true" if request_log else "false"
    if overrides:  # the environment, so uvicorn's worker processes see them too
        os.environ.update(overrides)
        get_settings.cache_clear()
    settings = get_settings()
    database = shown(settings.database_url)
    problem = port_problem(host, port)
    if problem:
        typer.echo(f"error: cannot listen on {host}:{port}: {problem} (another server? choose one with --port)",
                   err=True)
        raise typer.Exit(1)
    origin = f"http://{'localhost' if host in ('0.0.0.0', '::') else host}:{port}"
    base = settings.base_url or f"{origin}{settings.base_path}"
    # The trial finder's pages sit at the root of the same server (none when the FHIR API takes the root).
    pages = None
    if path := settings.base_path.rstrip("/"):
        pages = (base[:-len(path)] if base.rstrip("/").endswith(path) else origin) + "/"
    typer.echo(f"database {database}", err=True)
    if workers > 1 and settings.database_url.startswith("sqlite"):
        typer.echo(SQLITE_WORKERS_NOTE.format(workers=workers), err=True)
    if load_examples:
        _load_examples(settings.database_url, database)
    from ..rest.request_log import logging_config

    print(f"fhirtrial serving FHIR R4 at {base}", flush=True)
    if pages:
        print(f"trial finder pages at {pages}", flush=True)
    uvicorn.run("fhirtrial.rest.app:asgi", factory=True, host=host, port=port, workers=workers,
                log_config=logging_config(settings.request_log), log_level="warning", access_log=False)


def _load_examples(url: str, shown: str) -> None:
    from ..loading import load_examples as load
    from .database import open_or_exit

    started = time.perf_counter()
    typer.echo(f"loading the seed study and {SYNTHETIC_STUDIES} synthetic studies into {shown}", err=True)
    with open_or_exit(url) as repo:
        n = load(repo)
    typer.echo(f"loaded {n} example studies into {shown} in {time.perf_counter() - started:.1f} s", err=True)
