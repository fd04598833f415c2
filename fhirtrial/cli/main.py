"""The ``fhirtrial`` command: serve, map, import, export, synth, criteria, reindex (https://typer.tiangolo.com/)."""
from __future__ import annotations

import logging
from typing import Any

import typer

from ..config import SettingsError, get_settings
from .criteria import criteria_command
from .export import export_command
from .import_ import import_command
from .map import map_file
from .reindex import reindex_command
from .serve import serve
from .synth import synth_command

# No local variables in tracebacks: they would print database passwords and tokens.
app = typer.Typer(help="fhirtrial: a FHIR R4 server for clinical-trial data", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_show_locals=False)


class _OneLine(logging.Formatter):
    """Warnings of the library on a terminal: the message, not the traceback (the server's log keeps those)."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 -- logging's name
        return ""


@app.callback()
def settings_first() -> None:
    """Every command starts with the settings checked: a bad FHIRTRIAL_* value is one line and exit code 2."""
    handler = logging.StreamHandler()
    handler.setFormatter(_OneLine("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    try:
        get_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


app.command("serve", help="Start the FHIR server.")(serve)
app.command("map", help="Map one ClinicalTrials.gov API v2 record to a FHIR transaction Bundle.")(map_file)
app.command("import", help="Import ClinicalTrials.gov API v2 records (files, NDJSON, directories, bulk zip).")(
    import_command)
app.command("export", help="Export one study as a Bundle (--study) or everything as NDJSON (--all).")(
    export_command)
app.command("synth", help="Write N synthetic ClinicalTrials.gov API v2 records (NDJSON or bulk-download zip).")(
    synth_command)
app.command("criteria", help="Count the criteria of a corpus fully / partly / not coded, by category.")(
    criteria_command)
app.command("reindex", help="Rebuild every search index row from the stored resources.")(reindex_command)

if __name__ == "__main__":
    app()
