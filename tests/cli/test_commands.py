"""The commands that write say where (password hidden), the default database follows FHIRTRIAL_DATA_DIR,
``reindex --type`` checks its types, ``import --jobs`` works without ``fork``, and no sub-command can vanish
silently (https://typer.tiangolo.com/)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from fhirtrial.store.engine import shown_url

from ..ingest.importing import count, synth, write_ndjson
from ..support.database import TEST_DATABASE_ENV

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ("serve", "map", "import", "export", "synth", "reindex")


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fhirtrial.cli.main", *args], cwd=cwd,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=300)


def test_every_sub_command_is_there() -> None:
    done = _cli("--help", cwd=ROOT)
    assert done.returncode == 0
    assert all(f" {name} " in done.stdout for name in COMMANDS), done.stdout


def test_a_sub_command_that_cannot_be_imported_is_an_error_not_a_missing_command(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['fhirtrial.cli.reindex'] = None\n"  # as if its module failed to import
            "from fhirtrial.cli.main import app\napp(['--help'])")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "fhirtrial.cli.reindex" in done.stderr, done.stdout + done.stderr


def test_import_defaults_to_the_data_dir_and_says_so(tmp_path: Path) -> None:
    data, cwd = tmp_path / "data", tmp_path / "work"
    cwd.mkdir()
    path = write_ndjson(tmp_path / "s.ndjson", synth(3))
    done = _cli("import", str(path), cwd=cwd, env={"FHIRTRIAL_DATA_DIR": str(data)})
    assert done.returncode == 0, done.stderr
    db = data / "fhirtrial.db"
    lines = done.stderr.splitlines()
    assert lines[0] == f"importing into sqlite:///{db}"
    assert lines[-1] == f"database: sqlite:///{db}"
    assert count(f"sqlite:///{db}", "resource", "WHERE resource_type = 'ResearchStudy'") == 3
    assert not list(cwd.glob("*.db"))  # nothing where the command happened to run


def test_reindex_checks_its_types_and_says_which_database(database_url: str, tmp_path: Path) -> None:
    done = _cli("reindex", "--type", "ResearchStudy,Bogus", "--type", "Patients", "--database-url", database_url,
                cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: unknown resource type(s): Bogus, Patients (served: ")
    done = _cli("reindex", "--type", "ResearchStudy", "--database-url", database_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = shown_url(database_url)
    assert done.stderr.splitlines()[0] == f"reindexing {shown}"
    assert f"reindexed 0 resources of {shown} in " in done.stderr


def test_a_password_is_never_printed(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip(f"needs PostgreSQL ({TEST_DATABASE_ENV}): only its URLs carry passwords")
    url = sa.make_url(database_url).set(password="s3cret-pw").render_as_string(hide_password=False)
    path = write_ndjson(tmp_path / "s.ndjson", synth(2))  # the test server trusts any password
    for args in (["import", str(path)], ["reindex"], ["export", "--all", "-o", str(tmp_path / "out")]):
        done = _cli(*args, "--database-url", url, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "s3cret-pw" not in done.stdout + done.stderr
        assert sa.make_url(url).render_as_string(hide_password=True) in done.stderr


def test_import_jobs_without_fork(database_url: str, tmp_path: Path) -> None:
    """Where ``fork`` is not the default (or does not exist, as on Windows), the worker processes are spawned."""
    path = write_ndjson(tmp_path / "s.ndjson", synth(30, seed=5))
    script = tmp_path / "spawned_import.py"
    script.write_text(textwrap.dedent(f"""
        import multiprocessing
        import multiprocessing.context

        if __name__ == "__main__":
            multiprocessing.set_start_method("spawn", force=True)
            multiprocessing.context._concrete_contexts.pop("fork", None)  # a platform without fork
            from fhirtrial.ingest import pipeline
            pipeline.PARALLEL_MIN = 1  # workers even for a few studies
            real_pool = multiprocessing.context.SpawnContext.Pool
            def counted_pool(self, processes=None, *args, **kwargs):
                print(f"spawn pool of {{processes}}", flush=True)
                return real_pool(self, processes, *args, **kwargs)
            multiprocessing.context.SpawnContext.Pool = counted_pool
            from fhirtrial.cli.main import app
            app(["import", {str(path)!r}, "--jobs", "2", "--database-url", {database_url!r}])
        """))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "spawn pool of 2" in done.stdout
    assert "studies:   30 created, 0 updated, 0 unchanged, 0 failed" in done.stderr
    assert count(database_url, "resource", "WHERE resource_type = 'ResearchStudy'") == 30
