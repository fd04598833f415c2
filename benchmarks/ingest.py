"""Import throughput: studies/s and resources/s into SQLite and PostgreSQL, peak RSS, database bytes per study.

Usage: .venv/bin/python benchmarks/ingest.py [--sizes 10000 100000] [--large] [--jobs 1 2] [--no-validate]
PostgreSQL is measured when FHIRTRIAL_TEST_DATABASE_URL is set (it is emptied) (start a throwaway one with `. .ci/pg.sh; pg_start`).
Each run is `fhirtrial import` in a fresh process on a fresh database (synthetic studies from `fhirtrial synth`).
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
REGISTRY = 570_000  # studies on ClinicalTrials.gov, for the projected time of a whole-registry import
# Runs ``fhirtrial`` in this process, then prints its own CPU and its (reaped) workers' CPU, in seconds.
_RUSAGE_WRAPPER = """
import resource, sys
from fhirtrial.cli.main import app
try:
    app(sys.argv[1:], prog_name="fhirtrial")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"cpu: {me.ru_utime} {me.ru_stime} {kids.ru_utime} {kids.ru_stime}", file=sys.stderr)
sys.exit(code)
"""


def _synth(n: int, directory: Path) -> Path:
    path = directory / f"synth-{n}.ndjson"
    if not path.exists():
        subprocess.run([PY, "-m", "fhirtrial.cli.main", "synth", "-n", str(n), "--seed", "1", "-o", str(path)],
                       check=True, capture_output=True)
    return path


def _reset_pg(url: str) -> None:
    import sqlalchemy as sa

    from fhirtrial.store.migrate import migrate

    migrate(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        names = conn.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                                     "AND tablename <> 'alembic_version'").scalars().all()
        conn.exec_driver_sql("TRUNCATE " + ", ".join(names) + " RESTART IDENTITY")
    engine.dispose()


def _size(url: str, db_file: Path | None) -> int:
    if db_file is not None:
        return sum(p.stat().st_size for p in db_file.parent.glob(db_file.name + "*"))
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        size = conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one()
    engine.dispose()
    return int(size)


def run(url: str, data: Path, jobs: int, validate: bool, db_file: Path | None) -> dict[str, float]:
    before = _size(url, db_file) if db_file is None else 0
    args = [PY, "-c", _RUSAGE_WRAPPER, "import", str(data), "--jobs", str(jobs), "--batch", "1000",
            "--database-url", url] + ([] if validate else ["--no-validate"])
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the largest child so far (maxrss is a max)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"import failed ({proc.returncode}): {err[-2000:]}")
    studies = int(re.search(r"studies:\s+(\d+) created", err).group(1))
    resources = int(re.search(r"resources: (\d+) created", err).group(1)) + \
        int(re.search(r"resources: \d+ created, \d+ updated, (\d+) unchanged", err).group(1))
    inner = float(re.search(r"imported in ([\d.]+) s", err).group(1))
    cpu = dict(zip(("main_user", "main_sys", "workers_user", "workers_sys"),
                   map(float, re.search(r"cpu: ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", err).groups())))
    return {**{k: v * 1000 / studies for k, v in cpu.items()}, "studies": studies, "resources": resources, "wall": wall, "import_s": inner,
            "studies_s": studies / inner, "resources_s": resources / inner, "rss_mb": usage.ru_maxrss / 1024,
            "bytes_per_study": (_size(url, db_file) - before) / studies}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--large", action="store_true", help="also 500,000 studies")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--no-validate", action="store_true")
    ap.add_argument("--work", type=Path, help="directory for the synthetic inputs, kept between runs")
    args = ap.parse_args()
    sizes = args.sizes + ([500_000] if args.large else [])
    pg = os.environ.get("FHIRTRIAL_TEST_DATABASE_URL")
    work = args.work or Path(tempfile.mkdtemp(prefix="fhirtrial-ingest-bench-"))
    results: dict[tuple[str, int, int], dict[str, float]] = {}
    for n in sizes:
        data = _synth(n, work)
        for jobs in args.jobs:
            db = work / f"bench-{n}-{jobs}.db"
            results[("sqlite", n, jobs)] = run(f"sqlite:///{db}", data, jobs, not args.no_validate, db)
            print(_line("sqlite", n, jobs, results[("sqlite", n, jobs)]), flush=True)
            db.unlink(missing_ok=True)
            if pg:
                _reset_pg(pg)
                results[("postgresql", n, jobs)] = run(pg, data, jobs, not args.no_validate, None)
                print(_line("postgresql", n, jobs, results[("postgresql", n, jobs)]), flush=True)
    print("\nratios")
    for (dbname, n, jobs), r in results.items():
        base = results.get((dbname, n, args.jobs[0]))
        if jobs != args.jobs[0] and base:
            print(f"  {dbname} {n:>7}: --jobs {jobs} / --jobs {args.jobs[0]} = {r['studies_s'] / base['studies_s']:.2f}x")
        sq = results.get(("sqlite", n, jobs))
        if dbname == "postgresql" and sq:
            print(f"  {n:>7} --jobs {jobs}: PostgreSQL / SQLite = {r['studies_s'] / sq['studies_s']:.2f}x")


def _line(db: str, n: int, jobs: int, r: dict[str, float]) -> str:
    registry = REGISTRY / r["studies_s"] / 60
    return (f"{db:<10} {n:>7} studies --jobs {jobs}: {r['studies_s']:8,.0f} studies/s {r['resources_s']:9,.0f} "
            f"resources/s ({r['import_s']:.1f} s import, {r['wall']:.1f} s wall)  peak RSS {r['rss_mb']:.0f} MB  "
            f"{r['bytes_per_study']:,.0f} bytes/study\n"
            f"{'':<19}CPU per study: main {r['main_user']:.2f} user + {r['main_sys']:.2f} sys ms, workers "
            f"{r['workers_user']:.2f} user + {r['workers_sys']:.2f} sys ms; whole registry ({REGISTRY:,} studies) "
            f"projected {registry:.1f} min")


if __name__ == "__main__":
    main()
