"""One validator on every write path, https://hl7.org/fhir/R4/validation.html.

The same invalid resource -- one bad required binding, one broken invariant, one malformed reference and one
structural error -- goes through REST create and update, a transaction, ``$validate``, ``fhirtrial import`` and
``$import-ctgov`` (the mapper is replaced so the importer sees exactly that resource): each path reports the same
four issues and stores nothing. Under ``FHIRTRIAL_VALIDATION=warning`` the content problems are stored with
warnings by every path, and the structural one is still refused by every path.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from fhirtrial.config import Settings
from fhirtrial.ingest.pipeline import Summary, run_import
from fhirtrial.ingest.progress import Progress
from fhirtrial.ingest.report import ErrorReport
from fhirtrial.ingest.synth import generate
from fhirtrial.mapping import MappedStudy
from fhirtrial.rest.app import create_app
from fhirtrial.store.bulk import BulkWriter

from ..ingest.importing import count, open_repo, write_ndjson

TOKEN = "test-token"
BASE = "http://testserver/fhir"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
RID = "bad-1"


def bad_study(*, structural: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "ResearchStudy", "id": RID,
        "status": "recruiting",  # ResearchStudy.status has a required binding; "recruiting" is not in it
        "period": {"start": "2021-02-01", "end": "2021-01-01"},  # per-1: start SHALL be <= end
        "sponsor": {"reference": "Sponsor/acme"},  # not a resource type: a malformed literal reference
    }
    if structural:
        body["phaseOfTrial"] = "2"  # no such element in R4
    return body


# What the spec says is wrong with bad_study(): (code, element) of each issue.
CONTENT = {("code-invalid", "ResearchStudy.status"), ("invariant", "ResearchStudy.period"),
           ("value", "ResearchStudy.sponsor.reference")}
STRUCTURE = {("structure", "ResearchStudy.phaseOfTrial")}


def _found(issues: list[dict[str, Any]], severity: str = "error") -> set[tuple[str, str]]:
    return {(i["code"], i["expression"][0]) for i in issues if i["severity"] == severity and i.get("expression")}


@pytest.fixture
def mapper(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The importer's mapper replaced: every record maps to ``current["resource"]``."""
    current: dict[str, Any] = {"resource": bad_study()}

    def fake_map(record: dict[str, Any]) -> MappedStudy:
        return MappedStudy(RID, [current["resource"]], [])

    monkeypatch.setattr("fhirtrial.mapping.map_study", fake_map)
    return current


async def _client(database_url: str, repo: Any, validation: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url, api_token=TOKEN, validation=validation)
    app = create_app(settings, repo)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url=BASE + "/") as c:
        yield c


@pytest.fixture
async def client(database_url: str, repo: Any) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(database_url, repo, "error"):
        yield c


@pytest.fixture
async def lenient(database_url: str, repo: Any) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(database_url, repo, "warning"):
        yield c


def _transaction(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"resource": resource, "request": {"method": "PUT", "url": f"ResearchStudy/{RID}"}}]}


def _record() -> dict[str, Any]:
    return next(iter(generate(1, 11)))


def _import(url: str, tmp_path: Path, strictness: str | None = None,
            summaries: list[Summary] | None = None) -> list[dict[str, Any]]:
    """The error report's lines of an import of one record (``summaries`` gets the run's summary)."""
    source = write_ndjson(tmp_path / "one.ndjson", [_record()])
    report = ErrorReport(tmp_path / "errors.jsonl", always=True)
    with open_repo(url) as repo:
        summary = run_import([source], BulkWriter(repo), jobs=1, on_batch=lambda s, results: report.add(results),
                             strictness=strictness)
    report.close()
    if summaries is not None:
        summaries.append(summary)
    return [orjson.loads(line) for line in report.path.read_bytes().splitlines()]


async def test_every_write_path_reports_the_same_issues(client: httpx.AsyncClient, database_url: str,
                                                        tmp_path: Path, mapper: dict[str, Any]) -> None:
    expected = CONTENT | STRUCTURE
    created = await client.post("ResearchStudy", content=orjson.dumps(bad_study()), headers=HEADERS)
    assert created.status_code == 400, created.text
    assert _found(created.json()["issue"]) == expected
    updated = await client.put(f"ResearchStudy/{RID}", content=orjson.dumps(bad_study()), headers=HEADERS)
    assert updated.status_code == 400 and _found(updated.json()["issue"]) == expected
    bundle = await client.post("", content=orjson.dumps(_transaction(bad_study())), headers=HEADERS)
    assert bundle.status_code == 400 and _found(bundle.json()["issue"]) == expected
    checked = await client.post("ResearchStudy/$validate", content=orjson.dumps(bad_study()), headers=HEADERS)
    assert checked.status_code == 200 and _found(checked.json()["issue"]) == expected

    (line,) = _import(database_url, tmp_path)
    assert line["stage"] == "validate" and _found(line["issues"]) == expected

    pushed = await client.post("ResearchStudy/$import-ctgov", content=orjson.dumps(_record()),
                               headers={**HEADERS, "Content-Type": "application/json"})
    assert pushed.status_code == 200, pushed.text
    (entry,) = pushed.json()["entry"]
    assert entry["response"]["status"] == "422 Unprocessable Entity"
    assert _found(entry["response"]["outcome"]["issue"]) == expected
    assert count(database_url, "resource") == 0


async def test_warning_strictness_is_the_same_on_every_path(lenient: httpx.AsyncClient, database_url: str,
                                                            tmp_path: Path, mapper: dict[str, Any]) -> None:
    # The structural error is refused by every path, whatever the setting.
    refused = await lenient.post("ResearchStudy", content=orjson.dumps(bad_study()), headers=HEADERS)
    assert refused.status_code == 400 and _found(refused.json()["issue"]) == STRUCTURE
    (line,) = _import(database_url, tmp_path, "warning")
    assert _found(line["issues"]) == STRUCTURE
    assert count(database_url, "resource") == 0

    # Content problems are stored, with warnings, by every path.
    mapper["resource"] = bad_study(structural=False)
    stored = await lenient.put(f"ResearchStudy/{RID}", content=orjson.dumps(bad_study(structural=False)),
                               headers={**HEADERS, "Prefer": "return=OperationOutcome"})
    assert stored.status_code == 201, stored.text
    assert _found(stored.json()["issue"], "warning") == CONTENT
    bundle = await lenient.post("", content=orjson.dumps(_transaction(bad_study(structural=False))),
                                headers=HEADERS)
    assert bundle.status_code == 200, bundle.text
    assert _found(bundle.json()["entry"][0]["response"]["outcome"]["issue"], "warning") == CONTENT
    pushed = await lenient.post("ResearchStudy/$import-ctgov", content=orjson.dumps(_record()),
                                headers={**HEADERS, "Content-Type": "application/json"})
    (entry,) = pushed.json()["entry"]
    assert entry["response"]["status"] == "200 OK"  # stored before, unchanged
    assert _found(entry["response"]["outcome"]["issue"], "warning") == CONTENT
    assert _import(database_url, tmp_path, "warning") == []
    assert count(database_url, "resource") == 1


async def test_import_follows_the_setting(database_url: str, tmp_path: Path, mapper: dict[str, Any],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from fhirtrial.config import get_settings

    mapper["resource"] = bad_study(structural=False)
    monkeypatch.setenv("FHIRTRIAL_VALIDATION", "warning")
    get_settings.cache_clear()
    summaries: list[Summary] = []
    try:
        assert _import(database_url, tmp_path, summaries=summaries) == []
    finally:
        get_settings.cache_clear()
    assert count(database_url, "resource") == 1
    assert summaries[0].warned == 1  # stored, and said so in the import's summary
    assert "warnings:  1 resources stored with validation errors" in Progress().final(summaries[0])
    monkeypatch.setenv("FHIRTRIAL_VALIDATION", "error")
    mapper["resource"] = {**bad_study(structural=False), "title": "changed"}
    try:
        (line,) = _import(database_url, tmp_path)
    finally:
        get_settings.cache_clear()
    assert _found(line["issues"]) == CONTENT
