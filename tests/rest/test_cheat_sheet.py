"""Every line of the README's ClinicalTrials.gov cheat sheet, run over HTTP against a real uvicorn holding the
seed study: it answers 200 with no warning, and finds the seed exactly where the README says so."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

from fhirtrial.loading import store_study

from ..support.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
SEED = "NCT01297972"


def cheat_sheet() -> list[tuple[str, list[tuple[str, str]], bool]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- cheat-sheet -->", 1)[1].split("<!-- /cheat-sheet -->", 1)[0]
    rows = []
    for line in block.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) != 3 or not cells[1].startswith("`"):
            continue
        query = cells[1].strip("`").replace("\\|", "|")
        pairs = [tuple(part.split("=", 1)) for part in query.split("&")]
        rows.append((cells[0], pairs, cells[2] == "yes"))
    return rows  # type: ignore[return-value]


def test_the_cheat_sheet_is_parsed() -> None:
    rows = cheat_sheet()
    assert len(rows) >= 15
    registry = " ".join(r[0] for r in rows)
    for needed in ("query.cond", "query.term", "filter.overallStatus", "filter.geo", "aggFilters=phase",
                   "aggFilters=studyType", "aggFilters=sex", "aggFilters=ages", "aggFilters=healthy"):
        assert needed in registry, needed


def test_every_cheat_sheet_search_runs(database_url: str, repo: Any, tmp_path: Path) -> None:
    record = json.loads((ROOT / "fhirtrial" / "examples" / f"{SEED}.json").read_text())
    store_study(repo, record, "http://127.0.0.1/fhir")
    with ServerProcess(database_url, tmp_path / "server.log", token="t") as server, \
            httpx.Client(base_url=server.base + "/", timeout=30, headers={"Prefer": "handling=strict"}) as http:
        for registry, pairs, finds_seed in cheat_sheet():
            r = http.get("ResearchStudy", params=pairs + [("_count", "50")])
            assert r.status_code == 200, (registry, pairs, r.text)
            entries = r.json().get("entry", [])
            assert not [e for e in entries if e["search"]["mode"] == "outcome"], (registry, pairs, entries)
            ids = {e["resource"]["id"] for e in entries if e["search"]["mode"] == "match"}
            assert (SEED in ids) == finds_seed, (registry, pairs, ids)
