"""Re-importing a study stored with the old per-site extension (one top-level `site` extension per site) makes
one new version with the status on each site reference, then none; its sites become searchable by status and
place (https://hl7.org/fhir/R4/http.html#update). Over HTTP on a real uvicorn."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from fhirtrial.canonical import EXTENSION_BASE
from fhirtrial.mapping import map_study

from ..support.server import ServerProcess

RECORD = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ctgov-extra" / "NCT03983954.json"
TOKEN = "reimport-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def server(database_url: str, repo: Any, tmp_path: Path) -> Iterator[str]:
    with ServerProcess(database_url, tmp_path / "server.log", token=TOKEN) as proc:
        yield proc.base


def _old_form(study: dict[str, Any]) -> dict[str, Any]:
    """The study as the previous mapping wrote it: bare site references, a complex `site` extension per site."""
    old = copy.deepcopy(study)
    exts = old.setdefault("extension", [])
    for ref in old.get("site", []):
        parts: list[dict[str, Any]] = [{"url": "location", "valueReference": {k: ref[k] for k in ("reference", "display")}}]
        for e in ref.pop("extension", []):
            name = e["url"].rsplit("/", 1)[1]
            parts.append({"url": "status", "valueCodeableConcept": e["valueCodeableConcept"]} if name == "site-status"
                         else {"url": "contact", "valueContactDetail": e["valueContactDetail"]})
        if len(parts) > 1:
            exts.append({"url": f"{EXTENSION_BASE}/site", "extension": parts})
    return old


def test_reimport_moves_site_status_once(server: str) -> None:
    if not RECORD.exists():
        pytest.skip("../shared/data/ctgov-extra is absent")
    record = json.loads(RECORD.read_text(encoding="utf-8"))
    mapped = map_study(record).resources
    study = mapped[0]
    recruiting = [s for s in study["site"] if any(e["url"].endswith("/site-status") and
                                                  e["valueCodeableConcept"]["coding"][0]["code"] == "RECRUITING"
                                                  for e in s.get("extension", []))]
    assert recruiting, "the record has recruiting sites"
    locations = {r["id"]: r for r in mapped if r["resourceType"] == "Location"}
    position = locations[recruiting[0]["reference"].split("/")[1]]["position"]
    where = f"RECRUITING${position['latitude']}|{position['longitude']}|1|km"
    with httpx.Client(timeout=60, headers=HEADERS) as c:
        for r in mapped[1:]:
            assert c.put(f"{server}/{r['resourceType']}/{r['id']}", json=r).status_code in (200, 201)
        assert c.put(f"{server}/ResearchStudy/{study['id']}", json=_old_form(study)).status_code == 201
        assert c.get(f"{server}/ResearchStudy", params={"site-status-near": where}).json().get("entry") is None
        versions = []
        for _ in range(2):
            r = c.post(f"{server}/ResearchStudy/$import-ctgov", content=RECORD.read_bytes(),
                       headers={"Content-Type": "application/json"})
            assert r.status_code == 200, r.text
            versions.append(c.get(f"{server}/ResearchStudy/{study['id']}").json()["meta"]["versionId"])
        assert versions == ["2", "2"]
        stored = c.get(f"{server}/ResearchStudy/{study['id']}").json()
        assert not any(e["url"] == f"{EXTENSION_BASE}/site" for e in stored.get("extension", []))
        assert [s.get("extension") for s in stored["site"]] == [s.get("extension") for s in study["site"]]
        found = c.get(f"{server}/ResearchStudy", params={"site-status-near": where}).json()
        assert [e["resource"]["id"] for e in found["entry"]] == [study["id"]]
