"""Export throughput and latency: NDJSON resources/s (the ``fhirtrial export --all`` path and ``$export``), server
RSS after the mix and the importer's peak RSS, and
``$everything`` latency p50/p95, over a database loaded with synthetic studies.

Usage: .venv/bin/python benchmarks/export.py [--studies 2000] [--requests 300] [--keep]
Uses a temporary SQLite database unless FHIRTRIAL_TEST_DATABASE_URL is set (PostgreSQL: give an empty,
throwaway one, e.g. `. .ci/pg.sh; pg_start`). Loads with `fhirtrial import` (bulk importer) when it is
available, else study by study through fhirtrial.loading.store_study.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fhirtrial.cli.main", *args], env=env, capture_output=True,
                          text=True, cwd=ROOT)


def load(url: str, records: Path, env: dict[str, str]) -> tuple[str, float]:
    started = time.perf_counter()
    done = cli("import", str(records), env=env)
    if done.returncode in (0, 1):
        return "fhirtrial import", time.perf_counter() - started
    from fhirtrial.loading import store_study
    from fhirtrial.store.sql import open_repository

    started = time.perf_counter()
    with open_repository(url) as repo:
        for line in records.read_bytes().splitlines():
            store_study(repo, orjson.loads(line), "http://bench/fhir")
    return "store_study", time.perf_counter() - started


def rss(pid: int) -> str:
    """Resident memory of a process now and at its peak (Linux /proc; "unknown" elsewhere)."""
    try:
        status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    except OSError:
        return "unknown"
    return f"RSS {int(status['VmRSS'].split()[0]) / 1024:,.0f} MB, peak {int(status['VmHWM'].split()[0]) / 1024:,.0f} MB"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300, help="$everything requests")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, files)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fhirtrial-export-bench-"))
    url = os.environ.get("FHIRTRIAL_TEST_DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
    env = {**os.environ, "FHIRTRIAL_DATABASE_URL": url, "FHIRTRIAL_API_TOKEN": TOKEN,
           "FHIRTRIAL_EXPORT_DIR": str(tmp / "bulk")}
    env.pop("FHIRTRIAL_EXPORT_BATCH_DELAY_S", None)
    records = tmp / "studies.ndjson"
    assert cli("synth", "--studies", str(args.studies), "--seed", "1", "-o", str(records), env=env).returncode == 0
    how, took = load(url, records, env)
    from fhirtrial.export.ndjson import export_ndjson
    from fhirtrial.export.study import everything
    from fhirtrial.store.sql import open_repository

    repo = open_repository(url)
    total = repo.count()
    # ru_maxrss of children: the peak of the largest process waited for (the importer or one of its workers)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"database: {url.split('://')[0]}, {args.studies} studies, {total:,} resources "
          f"(loaded with {how} in {took:.1f} s; peak RSS of its largest process {peak:,.0f} MB)")

    # 1. the CLI path (export_ndjson is what `fhirtrial export --all` runs), in-process and as a command
    for attempt in ("first", "again"):  # the first run also reads the database file into the page cache
        shutil.rmtree(tmp / "cli", ignore_errors=True)
        started, cpu = time.perf_counter(), time.process_time()
        result = export_ndjson(repo, tmp / "cli")
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        size = sum(p.stat().st_size for p in result.files.values())
        print(f"export --all (in-process, {attempt}): {result.total:,} resources in {took:.2f} s = "
              f"{result.total / took:,.0f} resources/s, {size / took / 1e6:,.0f} MB/s; "
              f"CPU {cpu:.2f} s = {result.total / cpu:,.0f} resources per CPU-second")
    started = time.perf_counter()
    done = cli("export", "--all", "-o", str(tmp / "cli2"), env=env)
    took = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    print(f"fhirtrial export --all (command, incl. start-up): {total / took:,.0f} resources/s ({took:.2f} s)")

    # 2. in-process $everything (no HTTP)
    ids = [line.split(b'"nctId":"', 1)[1].split(b'"', 1)[0].decode() for line in records.read_bytes().splitlines()]
    sample = random.Random(1).sample(ids, min(args.requests, len(ids)))
    lat = []
    for sid in sample:
        t = time.perf_counter()
        everything(repo, sid)
        lat.append((time.perf_counter() - t) * 1000)
    print(f"everything() in-process: p50 {pct(lat, .5):.2f} ms, p95 {pct(lat, .95):.2f} ms")
    repo.close()

    # 3. over HTTP: $everything latency and $export throughput on a real server
    port = free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    proc = subprocess.Popen([sys.executable, "-m", "fhirtrial.cli.main", "serve", "--port", str(port),
                             "--no-request-log"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        with httpx.Client(timeout=120) as client:
            for _ in range(300):
                try:
                    if client.get(f"{base}/metadata").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            lat, sizes = [], []
            for sid in sample:
                t = time.perf_counter()
                r = client.get(f"{base}/ResearchStudy/{sid}/$everything", params={"_count": "1000"})
                lat.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
                sizes.append(r.json()["total"])
            print(f"GET $everything over HTTP: p50 {pct(lat, .5):.2f} ms, p95 {pct(lat, .95):.2f} ms, "
                  f"max {max(lat):.1f} ms ({statistics.mean(sizes):.1f} resources/study on average, max {max(sizes)})")
            t = time.perf_counter()
            r = client.get(f"{base}/$export", headers={**AUTH, "Prefer": "respond-async"})
            assert r.status_code == 202, r.text
            status = r.headers["content-location"]
            while (r := client.get(status, headers=AUTH)).status_code == 202:
                time.sleep(0.02)
            took = time.perf_counter() - t
            assert r.status_code == 200, r.text
            n = sum(o["count"] for o in r.json()["output"])
            print(f"$export (kick-off to manifest): {n:,} resources in {took:.2f} s = {n / took:,.0f} resources/s")
            t = time.perf_counter()
            size = 0
            for item in r.json()["output"]:
                size += len(client.get(item["url"], headers=AUTH).content)
            took = time.perf_counter() - t
            print(f"$export file download: {size / 1e6:.1f} MB in {took:.2f} s = {size / 1e6 / took:,.0f} MB/s")
            print(f"server memory after the $everything and $export mix: {rss(proc.pid)}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
