"""Which served resources are a patient's data: the R4 Patient compartment,
https://hl7.org/fhir/R4/compartmentdefinition-patient.html.

The compartment (each type and the parameters that put a resource in it) is derived from the official
CompartmentDefinition by ``python -m fhirtrial.search.generate`` into definitions/patient-compartment-r4.json (a
test checks it equals a fresh derivation); it is read from the package, never from node_modules.

Served types fall in three kinds:

- patient types: in the compartment and not trial types (Patient, Condition, Observation, ...): every resource
  of them is patient data;
- member types: trial types in the compartment through some parameters only (Group, through ``member``): a
  resource is patient data when it fills those parameters' elements. For Group this server also counts an
  actual Group (``actual: true``) as patient data: by invariant grp-1 only actual Groups may list members, so a
  roster whose members are written as display text alone is caught too. A descriptive eligibility Group
  (``actual: false``, no member) is trial data;
- public types: never in the compartment (ResearchStudy, PlanDefinition, Organization, Location, ...).
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from ..resources import SERVED_TYPES, TRIAL_TYPES

COMPARTMENT_FILE = Path(__file__).with_name("definitions") / "patient-compartment-r4.json"
COMPARTMENT_URL = "http://hl7.org/fhir/CompartmentDefinition/patient"
# Extra condition per member type (see the module docstring): the element and value that make a resource patient
# data, and the search criterion that leaves those out.
_ALSO_PATIENT_DATA = {"Group": (("actual", True), ("actual:not", "true"))}


@lru_cache(maxsize=1)
def compartment_params() -> dict[str, tuple[str, ...]]:
    """Every resource type of the Patient compartment -> the parameters that put a resource in it."""
    data = json.loads(COMPARTMENT_FILE.read_text(encoding="utf-8"))
    return {rtype: tuple(params) for rtype, params in data["resource"].items()}


@dataclass(frozen=True)
class PatientCompartment:
    """The served types sorted by kind, and the test of one resource."""

    patient_types: frozenset[str]
    member_params: Mapping[str, tuple[str, ...]]  # member type -> its compartment parameters
    member_elements: Mapping[str, tuple[str, ...]]  # member type -> top-level elements of those parameters
    public_types: tuple[str, ...]
    types: frozenset[str]  # every served type some resource of which may be patient data

    def holds(self, resource_type: str, resource: Mapping[str, Any] | None) -> bool:
        """Whether this resource (of a served type) is patient data; ``None`` (no body: a deletion) is not."""
        if resource_type in self.patient_types:
            return True
        elements = self.member_elements.get(resource_type)
        if elements is None or resource is None:
            return False
        extra = _ALSO_PATIENT_DATA.get(resource_type)
        return any(resource.get(e) not in (None, [], {}) for e in elements) or (
            extra is not None and resource.get(extra[0][0]) == extra[0][1])

    def public_criteria(self, resource_type: str) -> tuple[tuple[str, str], ...]:
        """Search criteria that keep only the public resources of a member type (``member:missing=true``,
        ``actual:not=true``); none for other types."""
        extra = _ALSO_PATIENT_DATA.get(resource_type)
        return tuple((f"{p}:missing", "true") for p in self.member_params.get(resource_type, ())) + (
            (extra[1],) if extra else ())

    def holds_json(self, resource_type: str, body: bytes | None) -> bool:
        """``holds`` for a stored body (parsed only for member types)."""
        if resource_type not in self.types:
            return False
        if resource_type in self.patient_types:
            return True
        return self.holds(resource_type, None if body is None else orjson.loads(body))


def _top_elements(resource_type: str, expression: str | None) -> tuple[str, ...]:
    """``Group.member.entity`` -> ``member``: the top-level elements a parameter's expression reads."""
    return tuple(dict.fromkeys(re.findall(rf"(?<![\w.]){resource_type}\.(\w+)", expression or "")))


@lru_cache(maxsize=1)
def patient_compartment() -> PatientCompartment:
    from .registry import default_registry

    registry = default_registry()
    params = compartment_params()
    patient_types = frozenset(t for t in SERVED_TYPES if t in params and t not in TRIAL_TYPES)
    member_params = {t: params[t] for t in SERVED_TYPES if t in params and t in TRIAL_TYPES}
    member_elements: dict[str, tuple[str, ...]] = {}
    for rtype, codes in member_params.items():
        found: list[str] = []
        for code in codes:
            param = registry.get(rtype, code)
            elements = _top_elements(rtype, param.expression if param else None)
            if not elements:
                raise ValueError(f"{rtype}.{code} of the Patient compartment has no element to test")
            found += elements
        member_elements[rtype] = tuple(dict.fromkeys(found))
    public = tuple(t for t in SERVED_TYPES if t not in params)
    return PatientCompartment(patient_types, member_params, member_elements, public,
                              patient_types | frozenset(member_params))


__all__ = ["COMPARTMENT_FILE", "COMPARTMENT_URL", "PatientCompartment", "compartment_params", "patient_compartment"]
