"""The CapabilityStatement, generated from what the server serves, https://hl7.org/fhir/R4/capabilitystatement.html."""
from __future__ import annotations

from typing import Any, Callable, Iterable

from .. import __version__
from ..canonical import CANONICAL_BASE
from ..conformance import default_definitions
from ..resources import DEFINITIONAL_TYPES, RESOURCE_TYPES, SERVED_TYPES
from ..search.compartment import COMPARTMENT_URL, patient_compartment
from .bundles import now_instant

TYPE_INTERACTIONS = ("read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create",
                     "search-type")
DEFINITION_INTERACTIONS = ("read", "search-type")  # definitional types: read-only, from the package
SYSTEM_INTERACTIONS = ("transaction", "batch", "history-system", "search-system")

STORED = tuple(t for t in RESOURCE_TYPES if t not in DEFINITIONAL_TYPES)

# Search parameters per type: (name, type, definition URL, documentation); supplied by the search registry.
SearchParamsFor = Callable[[str], list[dict[str, Any]]]


def _no_params(resource_type: str) -> list[dict[str, Any]]:
    return []


# Canonical definitions of the operations served: HL7's where one exists, ours otherwise.
OPERATION_DEFINITIONS = {
    "validate": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
    "export": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
    "everything": f"{CANONICAL_BASE}/OperationDefinition/ResearchStudy-everything",
    "import-ctgov": f"{CANONICAL_BASE}/OperationDefinition/ResearchStudy-import-ctgov",
    "facets": f"{CANONICAL_BASE}/OperationDefinition/ResearchStudy-facets",
    "match": f"{CANONICAL_BASE}/OperationDefinition/ResearchStudy-match",
}


def operation_hooks(paths: Iterable[str], prefix: str) -> dict[str, Any]:
    """The CapabilityStatement's operations, read off the routes really installed (``[prefix]/Type/$op``,
    ``[prefix]/{resource_type}/$op`` for every type, ``[prefix]/$op`` at system level)."""
    per_type: dict[str, list[dict[str, str]]] = {t: [] for t in SERVED_TYPES}
    system: list[dict[str, str]] = []
    for path in sorted(set(paths)):
        if not path.startswith(prefix + "/"):
            continue
        parts = path[len(prefix) + 1:].split("/")
        name = parts[-1][1:] if parts[-1].startswith("$") else None
        if name not in OPERATION_DEFINITIONS:
            continue
        op = {"name": name, "definition": OPERATION_DEFINITIONS[name]}
        if len(parts) == 1:
            system.append(op)
            continue
        for rtype in (STORED if parts[0] == "{resource_type}" else (parts[0],)):
            if rtype in per_type and op not in per_type[rtype]:
                per_type[rtype].append(op)
    return {"type_operations": lambda rtype: per_type.get(rtype, []), "system_operations": system}


SMART_APP_LAUNCH = "https://hl7.org/fhir/smart-app-launch/"


def security_description() -> str:
    """``rest.security.description``: what the token protects and how (rest/auth.py)."""
    c = patient_compartment()
    patient = ", ".join(sorted(c.patient_types))
    members = ", ".join(f"{t} that lists {' or '.join(c.member_elements[t])} or is actual"
                        for t in sorted(c.member_params))
    return (
        "Writes and patient data need `Authorization: Bearer <token>` (the server's API token, "
        "FHIRTRIAL_API_TOKEN); without it the answer is 401 with `WWW-Authenticate: Bearer`, or 403 when the "
        "server has no token (then nobody reads patient data, except in the local-testing open mode, "
        "FHIRTRIAL_ALLOW_ANONYMOUS_WRITES, where anyone writes and reads everything). Patient data are the resources of the Patient "
        f"compartment ({COMPARTMENT_URL}): every {patient}; and every {members}. Trial data "
        f"({', '.join(c.public_types)}, and descriptive Groups) are public.\n\n"
        "Read, vread, search, history, `$everything` and `$export` that target patient data (its type, a `_type`, "
        "a chain or `_has` through it, `Group.member`) need the token. A public search, `_include`/`_revinclude`, "
        "`$everything` or `$export` that would merely include some leaves it out and says so in an "
        "OperationOutcome warning (code `suppressed`); history that may hold patient data (system level, Group "
        "at type level) needs the token, as a history Bundle cannot carry that warning.\n\n"
        f"Finer, per-user or per-patient scopes are the role of SMART App Launch ({SMART_APP_LAUNCH}), "
        "which this server does not implement."
    )


def capability_statement(base: str, search_params: SearchParamsFor = _no_params,
                         type_operations: Callable[[str], list[dict[str, Any]]] = lambda t: [],
                         includes: Callable[[str], tuple[list[str], list[str]]] = lambda t: ([], []),
                         system_operations: list[dict[str, str]] = (),
                         ) -> dict[str, Any]:
    """``search_params(type)`` also answers for ``"Resource"``: the parameters of a system search (``rest.searchParam``).
    Our own SearchParameters (trial parameters) appear there with their canonical URLs as ``definition``."""
    resources = []
    definitions = default_definitions()
    for rtype in SERVED_TYPES:
        entry: dict[str, Any] = {"type": rtype, "profile": f"http://hl7.org/fhir/StructureDefinition/{rtype}"}
        if profiles := definitions.profiles_of(rtype):
            entry["supportedProfile"] = profiles
        if rtype in DEFINITIONAL_TYPES:
            entry.update({
                "documentation": "This server's own definitions, served read-only from its package: read and "
                                 "search only; create, update, patch, delete and history answer 405.",
                "interaction": [{"code": code} for code in DEFINITION_INTERACTIONS],
                "versioning": "no-version", "readHistory": False, "updateCreate": False,
                "conditionalCreate": False, "conditionalRead": "not-supported", "conditionalUpdate": False,
                "conditionalDelete": "not-supported"})
        else:
            if extensions := definitions.extensions_on(rtype):
                # R4 has no element listing extensions: they are named here, defined at /StructureDefinition.
                entry["documentation"] = "Extensions: " + ", ".join(extensions)
            entry.update({
                "interaction": [{"code": code} for code in TYPE_INTERACTIONS],
                "versioning": "versioned-update", "readHistory": True, "updateCreate": True,
                "conditionalCreate": True, "conditionalRead": "not-supported", "conditionalUpdate": True,
                "conditionalDelete": "single"})
        include, revinclude = includes(rtype)
        if include:
            entry["searchInclude"] = include
        if revinclude:
            entry["searchRevInclude"] = revinclude
        params = search_params(rtype)
        if params:
            entry["searchParam"] = params
        ops = type_operations(rtype)
        if ops:
            entry["operation"] = ops
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": now_instant(),
        "publisher": "fhirtrial",
        "kind": "instance",
        "software": {"name": "fhirtrial", "version": __version__},
        "implementation": {"description": "fhirtrial FHIR R4 server for clinical-trial data", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json", "application/fhir+xml", "xml"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [{
            "mode": "server",
            "security": {"cors": True, "description": security_description()},
            "resource": resources,
            "interaction": [{"code": code} for code in SYSTEM_INTERACTIONS],
            **({"searchParam": system_params} if (system_params := search_params("Resource")) else {}),
            **({"operation": list(system_operations)} if system_operations else {}),
        }],
    }
