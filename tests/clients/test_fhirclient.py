"""The SMART on FHIR Python client (fhirclient) with its R4 models: read a ResearchStudy, search and page."""
from __future__ import annotations

import pytest

pytest.importorskip("fhirclient")
from fhirclient import client as smart_client  # noqa: E402
from fhirclient.models.bundle import Bundle  # noqa: E402
from fhirclient.models.organization import Organization  # noqa: E402
from fhirclient.models.researchstudy import ResearchStudy  # noqa: E402

from .conftest import N_BULK  # noqa: E402


def _smart(base: str) -> smart_client.FHIRClient:
    return smart_client.FHIRClient(settings={"app_id": "fhirtrial-tests", "api_base": base + "/"})


def test_read_research_study(server: str) -> None:
    smart = _smart(server)
    study = ResearchStudy.read("NCT01297972", smart.server)
    assert study.id == "NCT01297972" and study.status
    assert study.title
    assert study.as_json()["resourceType"] == "ResearchStudy"


def test_search_and_page(server: str) -> None:
    smart = _smart(server)
    studies = ResearchStudy.where(struct={"_id": "NCT01297972"}).perform_resources(smart.server)
    assert [s.id for s in studies] == ["NCT01297972"]
    first = Organization.where(struct={"name": "Bulk org", "_count": "10"}).perform(smart.server)
    assert isinstance(first, Bundle) and first.total == N_BULK
    ids, bundle, pages = [], first, 0
    while bundle is not None:
        ids += [e.resource.id for e in bundle.entry or () if e.search.mode == "match"]
        nxt = next((ln.url for ln in bundle.link or () if ln.relation == "next"), None)
        bundle = Bundle.read_from(nxt, smart.server) if nxt else None
        pages += 1
    assert pages == 6 and len(set(ids)) == N_BULK
    # The client's own iterator follows the next links as well.
    everything = list(Organization.where(struct={"name": "Bulk org", "_count": "25"}).perform_resources_iter(smart.server))
    assert len({o.id for o in everything}) == N_BULK
