"""Tables derived from the StructureDefinitions: element tree, required bindings, invariants.

https://hl7.org/fhir/R4/elementdefinition.html (type, binding, constraint, contentReference)
"""
from __future__ import annotations

from typing import Any, Iterable

from .expansion import Unexpandable, expand
from .sources import Definitions, strip_version

FHIRPATH_PREFIX = "http://hl7.org/fhirpath/"
# Profiles of Quantity that elements name through type.profile; they constrain but keep Quantity's children.
QUANTITY_PROFILES = {"http://hl7.org/fhir/StructureDefinition/SimpleQuantity": "SimpleQuantity",
                     "http://hl7.org/fhir/StructureDefinition/MoneyQuantity": "MoneyQuantity"}


def _type_name(code: str) -> str:
    return code[len(FHIRPATH_PREFIX):] if code.startswith(FHIRPATH_PREFIX) else code


def _is_many(element: dict[str, Any]) -> int:
    return 0 if element.get("max") in ("0", "1") else 1


class Catalog:
    """Builds the three shipped tables for the given resource types and every datatype they can reach."""

    def __init__(self, defs: Definitions, resource_types: Iterable[str]) -> None:
        self.defs = defs
        self.resource_types = sorted(resource_types)
        # Element itself too: the ``_name`` twin of a primitive (its id and extensions) is an Element.
        self.datatypes = sorted(sd["id"] for sd in defs.structures.values() if sd.get("kind") == "complex-type"
                                and (sd.get("derivation") == "specialization" or sd["id"] == "Element"))
        self.types: dict[str, dict[str, list[Any]]] = {}
        self.paths: list[tuple[str, dict[str, Any]]] = []  # (structure id, element) of every element in scope
        for name in self.resource_types + self.datatypes:
            self._add_structure(defs.structures[name])
        for url, name in QUANTITY_PROFILES.items():
            self.types[name] = self.types["Quantity"]

    def _add_structure(self, sd: dict[str, Any]) -> None:
        elements = sd["snapshot"]["element"]
        root = elements[0]["path"]
        with_children = {e["path"].rsplit(".", 1)[0] for e in elements if "." in e["path"]}
        for element in elements:
            self.paths.append((sd["id"], element))
            path = element["path"]
            if path == root:
                self.types.setdefault(sd["id"], {})
                continue
            parent, name = path.rsplit(".", 1)
            key = sd["id"] if parent == root else parent
            children = self.types.setdefault(key, {})
            if "contentReference" in element:
                children[name] = [path, element["contentReference"].lstrip("#"), _is_many(element)]
                continue
            for t in element.get("type", []):
                code = _type_name(t["code"])
                if path in with_children:  # a BackboneElement (or Element) defined inline
                    code = path
                # A choice's JSON name comes from the type code (doseQuantity), not from its profile
                # (SimpleQuantity), which only selects the table of rules.
                json_name = name[:-3] + code[0].upper() + code[1:] if name.endswith("[x]") else name
                for profile in t.get("profile", []):
                    code = QUANTITY_PROFILES.get(profile, code)
                children[json_name] = [path, code, _is_many(element)]

    def element_table(self) -> dict[str, Any]:
        """type (resource, datatype or backbone path) -> JSON name -> [element path, type, is array]."""
        return {"resourceTypes": self.resource_types, "types": dict(sorted(self.types.items()))}

    def binding_table(self) -> dict[str, Any]:
        """Element path -> value set of its required binding; value set -> system -> codes; skipped ones."""
        bindings: dict[str, str] = {}
        value_sets: dict[str, dict[str, list[str]]] = {}
        skipped: dict[str, dict[str, str]] = {}
        failures: dict[str, str] = {}
        for _, element in self.paths:
            binding = element.get("binding") or {}
            if binding.get("strength") != "required" or not binding.get("valueSet"):
                continue
            url = strip_version(binding["valueSet"])
            if url not in value_sets and url not in failures:
                try:
                    value_sets[url] = expand(self.defs, url)
                except Unexpandable as exc:
                    failures[url] = str(exc)
            if url in failures:
                skipped[element["path"]] = {"valueSet": url, "reason": failures[url]}
            else:
                bindings[element["path"]] = url
        return {"bindings": dict(sorted(bindings.items())), "valueSets": dict(sorted(value_sets.items())),
                "skipped": dict(sorted(skipped.items()))}

    def constraints(self) -> dict[str, list[dict[str, str]]]:
        """Invariant owner (datatype name, resource type or element path) -> its error constraints with expression."""
        out: dict[str, list[dict[str, str]]] = {}
        sds = [(name, self.defs.structures[name]) for name in self.resource_types + self.datatypes]
        sds += [(name, self.defs.structures[name]) for name in QUANTITY_PROFILES.values()]
        for sd_id, sd in sds:
            elements = sd["snapshot"]["element"]
            root = elements[0]["path"]
            for element in elements:
                path = element["path"]
                if path != root and sd.get("derivation") == "constraint":
                    continue  # a profile's own element rules are structural (max=0), its root rules matter
                owner = sd_id if path == root else path
                type_roots = {self._root_keys(_type_name(t["code"])) for t in element.get("type", [])}
                for c in element.get("constraint", []):
                    if c.get("severity") != "error" or not c.get("expression"):
                        continue
                    if path != root and any(c["key"] in keys for keys in type_roots):
                        continue  # copied from the element's datatype: checked once on the datatype itself
                    entry = {"key": c["key"], "human": c.get("human", ""), "expression": c["expression"]}
                    bucket = out.setdefault(owner, [])
                    if all(e["key"] != c["key"] for e in bucket):
                        bucket.append(entry)
        return dict(sorted(out.items()))

    def _root_keys(self, type_name: str) -> frozenset[str]:
        sd = self.defs.structures.get(type_name)
        if sd is None or sd.get("kind") not in ("complex-type", "resource"):
            return frozenset()
        return frozenset(c["key"] for c in sd["snapshot"]["element"][0].get("constraint", []))
