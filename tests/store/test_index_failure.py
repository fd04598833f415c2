"""A search parameter whose expression throws never leaves a resource stored without its index rows
(https://hl7.org/fhir/R4/search.html): the write fails with an OperationOutcome naming the parameter, on REST,
in a transaction, in ``fhirtrial import`` and in ``$import-ctgov``, and the failure is logged."""
from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from fhirtrial.config import Settings
from fhirtrial.errors import IndexingError
from fhirtrial.ingest.pipeline import run_import
from fhirtrial.ingest.synth import generate
from fhirtrial.rest.app import create_app
from fhirtrial.search.extract import FhirPathIndexer
from fhirtrial.search.registry import R4_FILE, Registry, load_trial_definitions
from fhirtrial.store.bulk import BulkWriter
from fhirtrial.store.sql import SQLRepository

from ..ingest.importing import count, write_ndjson

TOKEN = "test-token"
BASE = "http://testserver/fhir"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
# fhirpathpy raises when it compares a string with a number: every ResearchStudy with a title fails to index.
BROKEN = {"resourceType": "SearchParameter", "url": "http://example.org/SearchParameter/broken", "code": "broken",
          "base": ["ResearchStudy"], "type": "string", "expression": "ResearchStudy.title > 5"}
STUDY = {"resourceType": "ResearchStudy", "id": "s1", "status": "active", "title": "A study"}


@pytest.fixture(scope="module")
def broken_indexer() -> FhirPathIndexer:
    return FhirPathIndexer(Registry([*json.loads(R4_FILE.read_text(encoding="utf-8")), *load_trial_definitions(),
                                     BROKEN]))


@pytest.fixture
def broken_repo(database_url: str, broken_indexer: FhirPathIndexer) -> Iterator[SQLRepository]:
    repo = SQLRepository(database_url, broken_indexer)
    yield repo
    repo.close()


@pytest.fixture
async def client(database_url: str, broken_repo: SQLRepository) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=database_url, api_token=TOKEN), broken_repo)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url=BASE + "/") as c:
        yield c


def _names_the_parameter(outcome: dict[str, Any]) -> bool:
    return outcome["resourceType"] == "OperationOutcome" and any(
        "'broken'" in i["diagnostics"] and i.get("expression") == ["broken"] for i in outcome["issue"])


def test_the_indexer_raises_naming_the_parameter(broken_indexer: FhirPathIndexer,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="fhirtrial.search.extract"):
        with pytest.raises(IndexingError) as caught:
            broken_indexer.index(STUDY)
    assert caught.value.status == 422 and _names_the_parameter(caught.value.outcome())
    assert any("broken" in r.getMessage() for r in caplog.records)
    untitled = {k: v for k, v in STUDY.items() if k != "title"}
    assert broken_indexer.index(untitled).tokens  # the expression yields nothing there: indexed as usual


async def test_rest_and_transaction_writes_fail_and_store_nothing(client: httpx.AsyncClient,
                                                                  database_url: str) -> None:
    for response in (await client.post("ResearchStudy", content=orjson.dumps(STUDY), headers=HEADERS),
                     await client.put("ResearchStudy/s1", content=orjson.dumps(STUDY), headers=HEADERS)):
        assert response.status_code == 422, response.text
        assert _names_the_parameter(response.json())
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Organization", "id": "o1", "name": "Acme"},
         "request": {"method": "PUT", "url": "Organization/o1"}},
        {"resource": STUDY, "request": {"method": "PUT", "url": "ResearchStudy/s1"}}]}
    response = await client.post("", content=orjson.dumps(bundle), headers=HEADERS)
    assert response.status_code == 422 and _names_the_parameter(response.json())
    assert count(database_url, "resource") == 0


async def test_imports_report_the_study_as_failed(client: httpx.AsyncClient, database_url: str, tmp_path: Path,
                                                  broken_repo: SQLRepository) -> None:
    records = list(generate(2, 5))
    results: list[Any] = []
    summary = run_import([write_ndjson(tmp_path / "two.ndjson", records)], BulkWriter(broken_repo), jobs=1,
                         on_batch=lambda s, batch: results.extend(batch))
    assert summary.failed == 2 and summary.studies["created"] == 0
    for result in results:
        assert result.study.stage == "index" and "'broken'" in result.error
        assert result.study.report()["issues"][0]["expression"] == ["broken"]
    response = await client.post("ResearchStudy/$import-ctgov", content=orjson.dumps(records[0]),
                                 headers={**HEADERS, "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    (entry,) = response.json()["entry"]
    assert entry["response"]["status"] == "422 Unprocessable Entity"
    assert _names_the_parameter(entry["response"]["outcome"])
    assert count(database_url, "resource") == 0
