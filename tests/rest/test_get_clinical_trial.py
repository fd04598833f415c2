"""``POST /getClinicalTrial`` in the shapes of MITRE's clinical-trial-matching-service (npm 0.1.2), over HTTP on a
real uvicorn: the request as that package reads it, the response as its SearchSet holds it (tests/node/)."""
from __future__ import annotations

import subprocess

import httpx
import orjson
import pytest

from ..support.server import ServerProcess
from ..support.validators import ROOT, node_available
from .test_match import SEED, patient_bundle, report_of, server  # noqa: F401  (the server fixture)

SCRIPT = ROOT / "tests" / "node" / "ctms_shapes.mjs"


def mitre_request(**query: str) -> dict:
    """As clinical-trial-matching-app sends it: the patient's resources and one Parameters entry."""
    bundle = patient_bundle()
    bundle["entry"].insert(0, {"resource": {"resourceType": "Parameters", "parameter": [
        {"name": name, "valueString": value} for name, value in query.items()]}})
    return bundle


def shapes(request: dict, response: dict) -> dict:
    if not node_available() or not (ROOT / "node_modules" / "clinical-trial-matching-service").is_dir():
        pytest.skip("clinical-trial-matching-service is not installed (npm ci)")
    proc = subprocess.run(["node", str(SCRIPT)], input=orjson.dumps({"request": request, "response": response}),
                          capture_output=True, cwd=ROOT, timeout=120, check=True)
    return orjson.loads(proc.stdout)


def test_the_matching_app_shape(server: ServerProcess) -> None:  # noqa: F811
    request = mitre_request(phase="phase-1-phase-2", recruitmentStatus="completed")
    r = httpx.post(f"{server.base}/getClinicalTrial", json=request, timeout=120)
    assert r.status_code == 200, r.text
    body = r.json()
    checked = shapes(request, body)
    assert checked["problems"] == []
    assert checked["parameters"] == {"phase": "phase-1-phase-2", "recruitmentStatus": "completed"}
    ids = [e["resource"]["id"] for e in body["entry"] if e["search"]["mode"] == "match"]
    assert SEED in ids  # the seed is a completed phase 1/2 study; the patient has its condition
    for entry in body["entry"]:
        if entry["search"]["mode"] == "match":
            assert entry["resource"]["status"] == "completed"
            assert "phase-1-phase-2" in [c["code"] for c in entry["resource"]["phase"]["coding"]]
            report = report_of(entry)
            assert report["verdict"] != "ineligible"
    # The seed has no site: a travel radius leaves out studies without a site within reach; the others are
    # within it, with their distance.
    near = mitre_request(zipCode="20892", travelRadius="25000")
    body = httpx.post(f"{server.base}/getClinicalTrial", json=near, timeout=120).json()
    checked = shapes(near, body)
    assert checked["problems"] == [] and checked["parameters"] == {"zipCode": "20892", "travelRadius": 25000}
    found = [e for e in body["entry"] if e["search"]["mode"] == "match"]
    assert found and SEED not in [e["resource"]["id"] for e in found]
    assert all(report_of(e)["distance"]["value"] <= 25000 for e in found)


def test_bad_requests(server: ServerProcess) -> None:  # noqa: F811
    url = f"{server.base}/getClinicalTrial"
    r = httpx.post(url, json={"resourceType": "Patient"})
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["Bundle"]
    r = httpx.post(url, json=mitre_request(zipCode="99999"))
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["zipCode"]
    r = httpx.post(url, json=mitre_request(zipCode="20892", travelRadius="-1"))
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["travelRadius"]
