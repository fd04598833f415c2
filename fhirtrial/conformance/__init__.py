"""Definitional (conformance) resources fhirtrial publishes, read-only and served from the package.

https://hl7.org/fhir/R4/conformance-module.html -- SearchParameter, StructureDefinition, CodeSystem and
OperationDefinition resources, collected from generators (the mapping tables, the trial search parameters) and
from definition files in ``definitions/`` (see registry.py), validated at load.
"""
from __future__ import annotations

from .registry import DEFINITIONAL_TYPES, Definitions, DefinitionError, default_definitions, load_definitions
from .value_sets import ClosedSets, closed_sets

__all__ = ["DEFINITIONAL_TYPES", "ClosedSets", "DefinitionError", "Definitions", "closed_sets",
           "default_definitions", "load_definitions"]
