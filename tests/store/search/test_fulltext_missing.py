"""``_text:missing`` / ``_content:missing`` (https://hl7.org/fhir/R4/search.html#missing) on both databases."""
from __future__ import annotations

from typing import Any

from .conftest import ids


def test_text_missing_selects_by_narrative(repo: Any) -> None:
    narrative = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Aplastic anemia</div>'}
    with repo.unit_of_work() as uow:
        uow.update("Organization", "with-text", {"resourceType": "Organization", "id": "with-text", "name": "A",
                                                 "text": narrative})
        uow.update("Organization", "no-text", {"resourceType": "Organization", "id": "no-text", "name": "B"})
    assert set(ids(repo, "Organization", "_text:missing=false")) == {"with-text"}
    assert set(ids(repo, "Organization", "_text:missing=true")) == {"no-text"}
    assert set(ids(repo, "Organization", "_content:missing=false")) == {"with-text", "no-text"}
    assert ids(repo, "Organization", "_content:missing=true") == []
    assert set(ids(repo, "Organization", "_text=aplastic")) == {"with-text"}
