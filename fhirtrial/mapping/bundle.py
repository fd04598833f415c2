"""The mapped study and its transaction Bundle, https://hl7.org/fhir/R4/bundle.html#transaction."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .ids import full_url


@dataclass
class MappedStudy:
    """Resources of one study (ResearchStudy first) and the warnings raised while mapping it."""

    nct_id: str
    resources: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def bundle(self) -> dict[str, Any]:
        """A transaction Bundle with one ``PUT Type/id`` entry per resource, so the study is stored atomically.

        fullUrl is ``urn:uuid:`` + uuid5(fhirtrial namespace, "Type/id"): deterministic and independent of the
        server base; references inside resources are literal relative ``Type/id`` references.
        """
        entries = []
        for res in self.resources:
            rtype, rid = res["resourceType"], res["id"]
            entries.append({"fullUrl": full_url(rtype, rid), "resource": res,
                            "request": {"method": "PUT", "url": f"{rtype}/{rid}"}})
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


class ResourceSet:
    """Resources in emission order; a shared resource (same type and id) is kept once."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, resource: dict[str, Any]) -> str:
        key = (resource["resourceType"], resource["id"])
        self._by_key.setdefault(key, resource)
        return f"{key[0]}/{key[1]}"

    def ordered(self, first: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``first`` (the study's own resources) in that order, then the shared ones in emission order."""
        ids = {id(r) for r in first}
        return first + [r for r in self._by_key.values() if id(r) not in ids]
