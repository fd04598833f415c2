"""Server time of the trial finder's pages at scale: p50/p95 of the search page and the study page.

    .venv/bin/python benchmarks/web.py [--size 100000] [--runs 30] [--workdir DIR] [--keep]

Data: ``fhirtrial synth --studies N --seed 1`` -> ``fhirtrial import`` into a SQLite database in a temporary folder
outside the repository (deleted at the end unless ``--keep`` or ``--workdir`` is given). The app answers in process
(httpx's ASGI transport): the time is the server's whole work for the page (its own FHIR searches, rendering),
without a network. Goal (issue 15): p95 < 50 ms for each page.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from fhirtrial.config import Settings  # noqa: E402
from fhirtrial.rest.app import create_app  # noqa: E402
from fhirtrial.store.sql import open_repository  # noqa: E402

CLI = [str(ROOT / ".venv" / "bin" / "fhirtrial")]


def run(cmd: list[str]) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def build(size: int, workdir: Path) -> str:
    data, db = workdir / f"s{size}.ndjson", workdir / f"b{size}.db"
    url = f"sqlite:///{db}"
    if not data.exists():
        run([*CLI, "synth", "--studies", str(size), "--seed", "1", "-o", str(data)])
    if not db.exists():
        run([*CLI, "import", str(data), "-j", str(os.cpu_count() or 1), "--no-validate", "--database-url", url,
             "-e", str(workdir / "errors.jsonl")])
    return url


def pick(url: str) -> dict[str, Any]:
    """Values the data holds: common conditions, study ids, a site position in the US."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conditions = [r[0] for r in conn.execute(sa.text(
            "SELECT text FROM idx_token WHERE resource_type='ResearchStudy' AND param='condition' AND text IS NOT NULL "
            "GROUP BY text ORDER BY count(*) DESC LIMIT 5"))]
        ids = [r[0] for r in conn.execute(sa.text(
            "SELECT id FROM resource WHERE resource_type='ResearchStudy' AND deleted=0 ORDER BY pk LIMIT 5000"))]
    engine.dispose()
    rnd = random.Random(7)
    return {"conditions": conditions, "ids": rnd.sample(ids, min(60, len(ids)))}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def measure(client: httpx.AsyncClient, paths: list[str], runs: int) -> tuple[list[float], set[int]]:
    for path in paths[:3]:  # warm: templates compiled, caches filled, the ZIP table loaded
        await client.get(path)
    times, statuses = [], set()
    for i in range(runs):
        path = paths[i % len(paths)]
        start = time.perf_counter()
        r = await client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        statuses.add(r.status_code)
    return times, statuses


async def bench(url: str, values: dict[str, Any], runs: int) -> None:
    repo = open_repository(url)
    app = create_app(Settings(database_url=url), repo)
    cond = values["conditions"]
    pages = {
        "search: first visit (all studies)": ["/"],
        "search: condition": [f"/?condition={c}" for c in cond],
        "search: condition + recruiting": [f"/?condition={c}&status=RECRUITING" for c in cond],
        "search: ZIP within 50 mi": ["/?location=10001&radius=50", "/?location=60611&radius=50",
                                     "/?location=94143&radius=50"],
        "search: ZIP + condition, nearest first": [f"/?condition={c}&location=02115&radius=100&sort=distance"
                                                   for c in cond],
        "search: words": ["/?q=cancer", "/?q=pain", "/?q=diabetes"],
        "study page": [f"/study/{i}" for i in values["ids"]],
    }
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            print(f"{'page':45} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  status")
            for label, paths in pages.items():
                times, statuses = await measure(client, paths, runs)
                verdict = "ok" if pct(times, 95) < 50 else "OVER 50 ms"
                print(f"{label:45} {statistics.median(times):8.1f} {pct(times, 95):8.1f} {max(times):8.1f}  "
                      f"{sorted(statuses)} {verdict}", flush=True)
    finally:
        repo.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--keep", action="store_true", help="keep the temporary data")
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fhirtrial-web-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        url = build(args.size, workdir)
        values = pick(url)
        print(f"{args.size:,} studies; conditions {values['conditions'][:3]}; {len(values['ids'])} study pages")
        asyncio.run(bench(url, values, args.runs))
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
