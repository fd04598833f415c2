"""Read-by-id and create throughput of fhirtrial vs a bare uvicorn + orjson app, measured in one run with wrk.

Usage: .venv/bin/python benchmarks/rest.py [--seconds 10] [--connections 16] [--workers 1,2]
Needs `wrk` (Debian package). Uses a temporary SQLite database unless FHIRTRIAL_TEST_DATABASE_URL is set
(PostgreSQL: `. .ci/pg.sh; pg_start` gives a throwaway one).
Reads are measured three ways: one id again and again, 1,000 ids at random (both with the read cache, which
holds answers until the next commit), and one id on a second server started with FHIRTRIAL_READ_CACHE_MB=0.
Then, for each further worker count in --workers, the read of one id and of 1,000 ids on `serve --workers N`
against the bare app also run with N workers: like is compared with like (on 2 cores wrk itself takes one).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if proc.poll() is not None:
                raise SystemExit(proc.stderr.read().decode() if proc.stderr else "server died")
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def wrk_stats(url: str, seconds: int, connections: int, script: Path | None = None) -> dict[str, float]:
    """req/s and the latency percentiles (ms) wrk reports; any non-2xx answer stops the benchmark."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{errors.group(1)} failed requests:\n{out}")
    stats = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        stats[f"p{pct}"] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return stats


def wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> float:
    return wrk_stats(url, seconds, connections, script)["rps"]


def start_server(env: dict[str, str], port: int, workers: int = 1) -> subprocess.Popen:
    # Without the request log (on by default): its line per request would fill the unread stderr pipe.
    return subprocess.Popen([sys.executable, "-m", "fhirtrial.cli.main", "serve", "--port", str(port),
                             "--no-request-log", "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def start_bare(env: dict[str, str], port: int, body_file: Path, workers: int = 1) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port),
                             "--log-level", "warning", "--no-access-log", "--workers", str(workers)],
                            cwd=ROOT / "benchmarks", env={**env, "BARE_BODY_FILE": str(body_file)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=10)


def random_ids_script(tmp: Path, path: str, ids: list[str]) -> Path:
    lua = tmp / "ids.lua"
    lua.write_text("local ids = {" + ", ".join(f'"{i}"' for i in ids) + "}\n"
                   "request = function()\n"
                   f'  return wrk.format("GET", "{path}" .. ids[math.random(#ids)])\n'
                   "end\n")
    return lua


def post_script(tmp: Path, body: bytes) -> Path:
    lua = tmp / "post.lua"
    lua.write_text('wrk.method = "POST"\n'
                   f'wrk.body = {orjson.dumps(body.decode()).decode()}\n'
                   'wrk.headers["Content-Type"] = "application/fhir+json"\n'
                   f'wrk.headers["Authorization"] = "Bearer {TOKEN}"\n'
                   'wrk.headers["Prefer"] = "return=representation"\n')
    return lua


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", default="1", help="worker counts to compare, e.g. 1,2 (1 is always run)")
    args = ap.parse_args()
    extra_workers = sorted({int(w) for w in args.workers.split(",")} - {1})
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="fhirtrial-bench-"))
    db = os.environ.get("FHIRTRIAL_TEST_DATABASE_URL", f"sqlite:///{tmp}/bench.db")
    port, bare_port, plain_port = free_port(), free_port(), free_port()
    env = {**os.environ, "FHIRTRIAL_DATABASE_URL": db, "FHIRTRIAL_API_TOKEN": TOKEN}
    server = start_server(env, port)
    base = f"http://127.0.0.1:{port}/fhir"
    procs = [server]
    try:
        wait_up(f"{base}/metadata", server)
        example = ROOT / "fhirtrial" / "examples" / "NCT01297972.expected.json"
        if example.exists():
            study = next(e["resource"] for e in orjson.loads(example.read_bytes())["entry"]
                         if e["resource"]["resourceType"] == "ResearchStudy")
        else:
            study = {"resourceType": "ResearchStudy", "id": "NCT01297972", "status": "completed",
                     "title": "Benchmark study"}
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
        r = httpx.put(f"{base}/ResearchStudy/{study['id']}", json=study, headers=headers)
        r.raise_for_status()
        ids = [f"bench-{i}" for i in range(1000)]
        with httpx.Client(headers=headers) as client:
            for rid in ids:
                client.put(f"{base}/ResearchStudy/{rid}", json={**study, "id": rid}).raise_for_status()
        uncached = start_server({**env, "FHIRTRIAL_READ_CACHE_MB": "0"}, plain_port)
        procs.append(uncached)
        wait_up(f"http://127.0.0.1:{plain_port}/fhir/metadata", uncached)
        body_file = tmp / "body.json"
        body_file.write_bytes(r.content)
        bare = start_bare(env, bare_port, body_file)
        procs.append(bare)
        bare_url = f"http://127.0.0.1:{bare_port}/fhir/ResearchStudy/{study['id']}"
        wait_up(bare_url, bare)
        read_url = f"{base}/ResearchStudy/{study['id']}"
        create_body = orjson.dumps({k: v for k, v in study.items() if k not in ("id", "meta")})
        script = post_script(tmp, create_body)
        print(f"body {len(r.content)} bytes, wrk {args.connections} connections, {args.seconds}s each, db {db}")
        results = {}
        many = random_ids_script(tmp, "/fhir/ResearchStudy/", ids)
        for name, url, lua in (("bare read", bare_url, None), ("fhirtrial read", read_url, None),
                               ("fhirtrial read 1k ids", f"{base}/ResearchStudy/x", many),
                               ("fhirtrial read, no cache", f"http://127.0.0.1:{plain_port}/fhir/ResearchStudy/"
                                                            f"{study['id']}", None),
                               ("bare create", f"http://127.0.0.1:{bare_port}/fhir/ResearchStudy", script),
                               ("fhirtrial create", f"{base}/ResearchStudy", script)):
            results[name] = wrk(url, args.seconds, args.connections, lua)
            print(f"{name:26s} {results[name]:10.0f} req/s")
        for workers in extra_workers:
            for p in (server, uncached, bare):
                if p in procs:
                    procs.remove(p)
                    stop(p)
            port, bare_port = free_port(), free_port()
            base = f"http://127.0.0.1:{port}/fhir"
            server = start_server(env, port, workers)
            bare = start_bare(env, bare_port, body_file, workers)
            procs += [server, bare]
            wait_up(f"{base}/metadata", server)
            bare_url = f"http://127.0.0.1:{bare_port}/fhir/ResearchStudy/{study['id']}"
            wait_up(bare_url, bare)
            for url in (bare_url, f"{base}/ResearchStudy/{study['id']}"):  # until every worker has started
                wrk(url, 3, args.connections)
            for name, url, lua in ((f"bare read, {workers} workers", bare_url, None),
                                   (f"fhirtrial read, {workers} workers", f"{base}/ResearchStudy/{study['id']}", None),
                                   (f"fhirtrial read 1k ids, {workers} workers", f"{base}/ResearchStudy/x", many)):
                results[name] = wrk(url, args.seconds, args.connections, lua)
                print(f"{name:36s} {results[name]:10.0f} req/s")
        for name in ("fhirtrial read", "fhirtrial read 1k ids", "fhirtrial read, no cache"):
            print(f"{name + ' / bare read':55s} = {results[name] / results['bare read']:.2f}")
        for workers in extra_workers:
            bare_name = f"bare read, {workers} workers"
            for name in (f"fhirtrial read, {workers} workers", f"fhirtrial read 1k ids, {workers} workers"):
                print(f"{name + ' / ' + bare_name:55s} = {results[name] / results[bare_name]:.2f}")
        print(f"create ratio fhirtrial/bare = {results['fhirtrial create'] / results['bare create']:.2f}")
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
