"""Search latency at scale: p50/p95 of a fixed set of trial queries on SQLite and PostgreSQL, with query plans.

    .venv/bin/python benchmarks/search.py --sizes 100000 [500000] [--pg URL] [--workdir /tmp/bench]

Data: ``fhirtrial synth --studies N --seed 1`` -> ``fhirtrial import`` (the bulk importer, which indexes each
study's eligibility values from its own Group and builds the search indexes once at the end) into SQLite ->
ANALYZE. PostgreSQL gets a copy of the SQLite rows (COPY; tsvectors recomputed), then ANALYZE.
Each query runs warm ``--runs`` times through ``SQLRepository.search`` (rows, bodies and includes included);
``$facets`` through ``SQLRepository.facets`` (its "matches" column counts buckets, "total" the matching studies).
With ``--concurrency N [--workers 1,2] [--seconds 10]`` the same queries are loaded over HTTP instead, N wrk
connections against ``fhirtrial serve`` (req/s, p50/p99; benchmarks/search_load.py).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fhirtrial.search.parser import parse_search  # noqa: E402
from fhirtrial.store.migrate import migrate  # noqa: E402
from fhirtrial.store.search import explain  # noqa: E402
from fhirtrial.store.search.context import Context  # noqa: E402
from fhirtrial.store.search.plan import plan_filters  # noqa: E402
from fhirtrial.store.search.sort import by_id  # noqa: E402
from fhirtrial.store.sql import SQLRepository  # noqa: E402

from search_load import run_load  # noqa: E402  (a sibling: the script folder is on sys.path)

CLI = [str(ROOT / ".venv" / "bin" / "fhirtrial")]


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env={**os.environ, **(env or {})})


def build_sqlite(size: int, workdir: Path) -> str:
    data = workdir / f"s{size}.ndjson"
    db = workdir / f"b{size}.db"
    url = f"sqlite:///{db}"
    if not data.exists():
        run([*CLI, "synth", "--studies", str(size), "--seed", "1", "-o", str(data)])
    if not (workdir / f"b{size}.ready").exists():
        if not db.exists():
            run([*CLI, "import", str(data), "-j", str(os.cpu_count() or 1), "--no-validate",
                 "--database-url", url, "-e", str(workdir / f"errors{size}.jsonl")])
        (workdir / f"b{size}.ready").touch()
    return url


_COPY_TABLES = ("resource", "idx_token", "idx_string", "idx_date", "idx_number", "idx_quantity", "idx_reference",
                "idx_uri", "idx_position", "idx_composite", "idx_site")


def copy_to_postgres(sqlite_url: str, pg_url: str) -> None:
    """The SQLite rows into a fresh PostgreSQL schema (COPY), full text recomputed as tsvectors."""
    import sqlite3

    import psycopg

    migrate(pg_url)
    src = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as pg:
        pg.execute("TRUNCATE resource_fts, resource_version, " + ", ".join(reversed(_COPY_TABLES)) + " CASCADE")
        for table in _COPY_TABLES:
            cols = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
            started = time.perf_counter()
            with pg.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                for row in src.execute(f"SELECT {', '.join(cols)} FROM {table}"):
                    if table == "resource":
                        row = tuple(bool(v) if c == "deleted" else v for c, v in zip(cols, row))
                    cp.write_row(row)
            print(f"  copied {table} in {time.perf_counter() - started:.1f} s", flush=True)
        pg.execute("SELECT setval(pg_get_serial_sequence('resource', 'pk'), (SELECT max(pk) FROM resource))")
        started = time.perf_counter()
        with pg.cursor() as cur:
            batch = []
            for rowid, text, content in src.execute("SELECT rowid, text, content FROM resource_fts"):
                batch.append((rowid, (text or "")[:200_000], (content or "")[:200_000]))
                if len(batch) >= 2000:
                    cur.executemany("INSERT INTO resource_fts VALUES (%s, to_tsvector('english', %s), "
                                    "to_tsvector('english', %s))", batch)
                    batch.clear()
            if batch:
                cur.executemany("INSERT INTO resource_fts VALUES (%s, to_tsvector('english', %s), "
                                "to_tsvector('english', %s))", batch)
        print(f"  full text in {time.perf_counter() - started:.1f} s", flush=True)
        pg.commit()
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute("VACUUM ANALYZE")


def pick_values(repo: SQLRepository) -> dict[str, str]:
    """Realistic values from the data: a common condition, phase, and a site position (the same on both
    databases: every pick is ordered)."""
    with repo.engine.connect() as conn:
        def one(sql: str) -> Any:
            return conn.exec_driver_sql(sql).first()
        # a condition and phase of some recruiting study: the combined query finds something
        study = one("SELECT resource_id FROM idx_token WHERE resource_type='ResearchStudy' AND param='recruitment' "
                    "AND code='RECRUITING' AND resource_id IN (SELECT resource_id FROM idx_token WHERE "
                    "resource_type='ResearchStudy' AND param='phase' AND substr(code, 1, 6) = 'phase-') "
                    "ORDER BY resource_id LIMIT 1 OFFSET 500")[0]
        cond = one("SELECT system, code FROM idx_token WHERE resource_type='ResearchStudy' AND param='condition' "
                   f"AND code IS NOT NULL AND resource_id='{study}' ORDER BY system IS NULL, system, code LIMIT 1")
        phase = one("SELECT code FROM idx_token WHERE resource_type='ResearchStudy' AND param='phase' "
                    f"AND substr(code, 1, 6) = 'phase-' AND resource_id='{study}' ORDER BY code LIMIT 1")
        pos = one("SELECT latitude, longitude FROM idx_position ORDER BY pk LIMIT 1 OFFSET 100")
        word = one("SELECT normalized FROM idx_string WHERE resource_type='ResearchStudy' AND param='title' "
                   "ORDER BY pk LIMIT 1 OFFSET 777")
        other = one("SELECT normalized FROM idx_string WHERE resource_type='ResearchStudy' AND param='title' "
                    "ORDER BY pk LIMIT 1 OFFSET 4242")
    from fhirtrial.search.escape import escape
    return {"condition": f"{escape(cond[0])}|{escape(cond[1])}" if cond[0] else escape(cond[1]),
            "phase": phase[0], "near": f"{pos[0]:.4f}|{pos[1]:.4f}|25|km",
            "word": next((w for w in word[0].split() if len(w) > 5), word[0].split()[0]),
            "other": next((w for w in other[0].split() if len(w) > 5), other[0].split()[0])}


def queries(v: dict[str, str]) -> list[tuple[str, str]]:
    return [
        ("condition+recruiting+phase", f"condition={v['condition']}&recruitment=RECRUITING&phase={v['phase']}"),
        ("eligible-age+eligible-sex", "eligible-age=30&eligible-sex=female"),
        ("site.near", f"site.near={v['near']}"),
        ("_content", f"_content={v['word']}"),
        ("_text", f"_text={v['word']}"),
        ("_include sites", f"condition={v['condition']}&_include=ResearchStudy:site"),
        ("condition sorted by -date", f"condition={v['condition']}&_sort=-date"),
        ("site.near nearest first", f"site.near={v['near']}&_sort=near"),
        ("recruiting site within 25 km", f"site-status-near=RECRUITING${v['near']}"),
        ("recruiting site, nearest first", f"site-status-near=RECRUITING${v['near']}&_sort=near"),
        ("_content boolean", f"_content=({v['word']} OR {v['other']}) -placebo"),
        ("_content boolean by _score", f"_content=({v['word']} OR {v['other']}) -placebo&_sort=_score"),
    ]


def facet_queries(v: dict[str, str]) -> list[tuple[str, str]]:
    return [("$facets (all studies)", ""), ("$facets recruiting", "recruitment=RECRUITING"),
            ("$facets condition", f"condition={v['condition']}"),
            ("$facets recruiting site in 25 km", f"site-status-near=RECRUITING${v['near']}")]


def timed(repo: SQLRepository, query: str, runs: int, cursor: str | None = None) -> tuple[list[float], Any]:
    req = parse_search("ResearchStudy", parse_qsl(query), strict=True)
    page = repo.search(req, cursor=cursor)  # warm
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        page = repo.search(req, cursor=cursor)
        times.append((time.perf_counter() - t) * 1000)
    return times, page


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench(label: str, repo: SQLRepository, runs: int, plans: bool) -> None:
    v = pick_values(repo)
    print(f"\n== {label} ({repo.count('ResearchStudy'):,} studies, {repo.count():,} resources)")
    print(f"{'query':32} {'p50 ms':>8} {'p95 ms':>8} {'matches':>8} {'total':>7} {'incl':>5}")
    for name, query in queries(v):
        times, page = timed(repo, query, runs)
        print(f"{name:32} {pct(times, 50):8.2f} {pct(times, 95):8.2f} {len(page.matches):8} "
              f"{page.total if page.total is not None else '-':>7} {len(page.included):5}", flush=True)
    for name, query in facet_queries(v):
        req = parse_search("ResearchStudy", parse_qsl(query), strict=True)
        total, counts = repo.facets(req)  # warm
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            total, counts = repo.facets(req)
            times.append((time.perf_counter() - t) * 1000)
        print(f"{name:32} {pct(times, 50):8.2f} {pct(times, 95):8.2f} {sum(map(len, counts.values())):8} "
              f"{total:>7} {'':5}", flush=True)
    # deep paging: 100 pages of 20 through recruiting studies, each page timed; warm like the queries above
    # (one untimed walk first): cold, the walk measures the disk (the 500k file is twice the RAM)
    q = "recruitment=RECRUITING&_count=20"
    req = parse_search("ResearchStudy", parse_qsl(q), strict=True)
    for timed_walk in (False, True):
        cursor, times = None, []
        for _ in range(100):
            t = time.perf_counter()
            page = repo.search(req, cursor=cursor)
            times.append((time.perf_counter() - t) * 1000)
            cursor = page.next_cursor
            if cursor is None:
                break
        if not timed_walk:
            cold = times
    print(f"{'deep paging (100 pages x 20)':32} {pct(times, 50):8.2f} {pct(times, 95):8.2f} "
          f"{len(times):8} pages, last page {times[-1]:.2f} ms; first walk (cold) p50/p95 "
          f"{pct(cold, 50):.2f}/{pct(cold, 95):.2f}")
    if plans:
        engine = repo._search
        for name, query in [*queries(v), ("deep paging (keyset)", q)]:
            req = parse_search("ResearchStudy", parse_qsl(query), strict=True)
            ctx = Context(repo.postgres)
            with repo.engine.connect() as conn:
                plan_filters(conn, ctx, req)
            select, terms = engine._matches_select(ctx, req)
            from fhirtrial.store.search import paging
            stmt = select.order_by(*paging.order_by(terms, False)).limit(21)
            if name.startswith("deep"):
                stmt = stmt.where(paging.after(terms, ("NCT5",) if by_id(Context(repo.postgres), req) else (123456,),
                                               False))
            with repo.engine.connect() as conn:
                print(f"\n-- plan: {name}\n{explain(conn, stmt)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "fhirtrial-bench")
    ap.add_argument("--pg", default=os.environ.get("FHIRTRIAL_TEST_DATABASE_URL"),
                    help="PostgreSQL URL (emptied!; default FHIRTRIAL_TEST_DATABASE_URL)")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--no-plans", action="store_true")
    ap.add_argument("--skip-sqlite", action="store_true", help="only PostgreSQL")
    ap.add_argument("--no-copy", action="store_true", help="PostgreSQL already holds the copy")
    ap.add_argument("--concurrency", type=int, default=0,
                    help="instead of timing queries in process: req/s over HTTP with this many wrk connections")
    ap.add_argument("--seconds", type=int, default=10, help="wrk duration per query (with --concurrency)")
    ap.add_argument("--workers", default="1,2", help="server worker counts (with --concurrency)")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        url = build_sqlite(size, args.workdir)
        if not args.skip_sqlite:
            measure(f"SQLite {size:,}", url, args)
        if args.pg:
            if not args.no_copy:
                copy_to_postgres(url, args.pg)
            measure(f"PostgreSQL {size:,}", args.pg, args)


def measure(label: str, url: str, args: argparse.Namespace) -> None:
    with SQLRepository(url) as repo:
        if not args.concurrency:
            bench(label, repo, args.runs, not args.no_plans)
            return
        values = pick_values(repo)
        studies = repo.count("ResearchStudy")
    run_load(url, f"{label} ({studies:,} studies)", queries(values), args.concurrency, args.seconds,
             [int(w) for w in args.workers.split(",")])


if __name__ == "__main__":
    main()
