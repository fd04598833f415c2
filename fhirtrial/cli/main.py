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


def _register_synth() -> None:
    from .synth import synth_command

    app.command("synth", help="Write N synthetic ClinicalTrials.gov API v2 records (NDJSON or bulk-download zip).")(
        synth_command)


def _register_import() -> None:
    from .import_ import import_command

    app.command("import", help="Import ClinicalTrials.gov API v2 records (files, NDJSON, directories, bulk zip).")(
        import_command)


def _register_export() -> None:
    from .export import export_command

    app.command("export", help="Export one study as a Bundle (--study) or everything as NDJSON (--all).")(
        export_command)


def _register_criteria() -> None:
    from .criteria import criteria_command

    app.command("criteria", help="Count the criteria of a corpus fully / partly / not coded, by category.")(
        criteria_command)


def _register_reindex() -> None:
    from .reindex import reindex_command

    app.command("reindex", help="Rebuild every search index row from the stored resources.")(reindex_command)


_register_criteria()
try:
    _register()
except ImportError:  # a sub-command's module is still being written
    pass
try:  # its own guard, so another command's missing module cannot hide this one
    _register_synth()
except ImportError:
    pass
try:  # its own guard as well
    _register_import()
except ImportError:
    pass
try:  # its own guard, like the others
    _register_export()
except ImportError:
    pass
try:  # its own guard, like the others
    _register_reindex()
except ImportError:
    pass

if __name__ == "__main__":
    app()
