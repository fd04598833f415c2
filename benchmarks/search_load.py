"""Search throughput under concurrent clients (issue 16), https://hl7.org/fhir/R4/search.html: req/s and latency
of the common trial queries over HTTP, measured with wrk against `fhirtrial serve` on an already filled database.

Called by ``benchmarks/search.py --concurrency N`` (the queries and their values are search.py's). For each worker
count, one server is started on the database (reads only: nothing is written), every query is checked once for a
200 answer, then each query is loaded alone with N connections, then all of them in rotation (a Lua script).
wrk itself takes CPU on this 2-core machine, so the absolute figures are conservative.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import httpx

from rest import free_port, start_server, stop, wait_up, wrk_stats


def _path(query: str) -> str:
    return "/fhir/ResearchStudy?" + urlencode(parse_qsl(query, keep_blank_values=True))


def _rotation_script(tmp: Path, paths: list[str]) -> Path:
    lua = tmp / "rotation.lua"
    lua.write_text("local paths = {" + ", ".join(f'"{p}"' for p in paths) + "}\nlocal i = 0\n"
                   "request = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n")
    return lua


def run_load(db_url: str, label: str, named_queries: list[tuple[str, str]], concurrency: int, seconds: int,
             workers: list[int]) -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="fhirtrial-load-"))
    paths = [(name, _path(query)) for name, query in named_queries]
    env = {**os.environ, "FHIRTRIAL_DATABASE_URL": db_url}
    try:
        for count in workers:
            port = free_port()
            server = start_server(env, port, count)
            base = f"http://127.0.0.1:{port}"
            try:
                wait_up(f"{base}/fhir/metadata", server)
                for name, path in paths:  # each query answers 200 (and warms the caches) before it is loaded
                    r = httpx.get(base + path, timeout=60)
                    if r.status_code != 200:
                        raise SystemExit(f"{name}: {r.status_code} {r.text[:300]}")
                print(f"\n== {label}: {concurrency} connections, {seconds}s each, serve --workers {count}")
                print(f"{'query':32} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
                for name, path in [*paths, ("all queries in rotation", None)]:
                    if path is None:
                        stats = wrk_stats(base + paths[0][1], seconds, concurrency,
                                          _rotation_script(tmp, [p for _, p in paths]))
                    else:
                        stats = wrk_stats(base + path, seconds, concurrency)
                    print(f"{name:32} {stats['rps']:8.1f} {stats.get('p50', 0):8.1f} {stats.get('p99', 0):8.1f}",
                          flush=True)
            finally:
                stop(server)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
