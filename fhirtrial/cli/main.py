"""The ``fhirtrial`` command: serve, map, import, export, synth, reindex."""
from __future__ import annotations

import typer

app = typer.Typer(help="fhirtrial: a FHIR R4 server for clinical-trial data", no_args_is_help=True,
                  add_completion=False)


from .serve import serve

app.command("serve", help="Start the FHIR server.")(serve)


def _register() -> None:
    from .map import map_file

    app.command("map", help="Map one ClinicalTrials.gov API v2 record to a FHIR transaction Bundle.")(map_file)


try:
    _register()
except ImportError:  # a sub-command's module is still being written
    pass

if __name__ == "__main__":
    app()
