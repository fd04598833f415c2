"""An operation the server does not define is a 404 OperationOutcome naming it, at every level and for every
method, over a real uvicorn (https://hl7.org/fhir/R4/operations.html)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from ..support.server import ServerProcess
from .conftest import assert_outcome

TOKEN = "ops-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}


def test_unknown_operations_are_404_not_supported(database_url: str, repo: Any, tmp_path: Path) -> None:
    with ServerProcess(database_url, tmp_path / "server.log", token=TOKEN) as server, \
            httpx.Client(base_url=server.base + "/", headers=AUTH, timeout=30) as http:
        cases = [("POST", "ResearchStudy/$unknown", "$unknown"), ("GET", "ResearchStudy/$unknown", "$unknown"),
                 ("PUT", "Group/$frobnicate", "$frobnicate"), ("GET", "$meta-everything", "$meta-everything"),
                 ("POST", "$nothing", "$nothing"), ("DELETE", "ResearchStudy/NCT1/$gone", "$gone"),
                 ("PATCH", "Organization/o1/$x", "$x"), ("GET", "Nope/$unknown", "$unknown")]
        for method, path, name in cases:
            body = assert_outcome(http.request(method, path, content=b"{}"), 404, "not-supported", name)
            assert "not supported" in body["issue"][0]["diagnostics"], (method, path, body)
        # A known operation asked with a method it does not take: 405 with the methods it takes.
        r = http.get("ResearchStudy/$import-ctgov")
        assert_outcome(r, 405, "not-supported", "$import-ctgov")
        assert r.headers["allow"] == "POST"
        r = http.delete("$export")
        assert_outcome(r, 405, "not-supported", "$export")
        assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}
        # Known operations and plain ids are untouched.
        assert http.get("metadata").status_code == 200
        assert_outcome(http.get("ResearchStudy/NCT404"), 404, "not-found")
        assert http.post("ResearchStudy/$validate", json={"resourceType": "ResearchStudy", "status": "active"}
                         ).status_code == 200
