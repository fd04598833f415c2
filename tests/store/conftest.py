"""Helpers for the store tests: a small Indexer and resource builders."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from fhirtrial.search.index import (DateEntry, NumberEntry, QuantityEntry, ReferenceEntry, ResourceIndex,
                                    StringEntry, TokenEntry, UriEntry)
from fhirtrial.store.sql import SQLRepository


def patient(family: str = "Doe", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "name": [{"family": family}], **extra}


class SmallIndexer:
    """Indexes identifier (token), name.family (string), birthDate (date), a reference, a uri, a number and a
    quantity, plus full text -- enough to see every index table written."""

    def index(self, resource: dict[str, Any]) -> ResourceIndex:
        ix = ResourceIndex()
        for ident in resource.get("identifier", []):
            ix.tokens.append(TokenEntry("identifier", ident.get("system"), ident.get("value")))
        for tag in resource.get("meta", {}).get("tag", []):
            ix.tokens.append(TokenEntry("_tag", tag.get("system"), tag.get("code")))
        if "gender" in resource:
            ix.tokens.append(TokenEntry("gender", "http://hl7.org/fhir/administrative-gender", resource["gender"]))
        for name in resource.get("name", []):
            family = name.get("family", "")
            ix.strings.append(StringEntry("family", family.casefold(), family))
        if "birthDate" in resource:
            day = datetime.fromisoformat(resource["birthDate"]).replace(tzinfo=timezone.utc)
            ix.dates.append(DateEntry("birthdate", day, day.replace(hour=23, minute=59, second=59)))
        if "managingOrganization" in resource:
            target_type, _, target_id = resource["managingOrganization"]["reference"].partition("/")
            ix.references.append(ReferenceEntry("organization", target_type, target_id))
        if "multipleBirthInteger" in resource:
            n = float(resource["multipleBirthInteger"])
            ix.numbers.append(NumberEntry("multiple-birth", n, n - 0.5, n + 0.5))
            ix.quantities.append(QuantityEntry("q", n, n - 0.5, n + 0.5, "http://unitsofmeasure.org", "1", "1"))
            ix.uris.append(UriEntry("url", f"http://example.org/{int(n)}"))
        ix.text = " ".join(n.get("family", "") for n in resource.get("name", []))
        ix.content = ix.text
        return ix

    def param_type(self, resource_type: str, name: str) -> str | None:
        return "token" if name in ("identifier", "_tag", "gender") else None


@pytest.fixture
def indexed_repo(database_url: str) -> Iterator[SQLRepository]:
    repository = SQLRepository(database_url, SmallIndexer())
    yield repository
    repository.close()
