"""fhirpathpy set up for FHIR R4 invariants, https://hl7.org/fhir/R4/fhirpath.html."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from fhirpathpy import compile as fp_compile
from fhirpathpy.engine.nodes import FP_Type, ResourceNode
from fhirpathpy.models import models

R4_MODEL = models["r4"]

Compiled = Callable[[Any, dict[str, Any] | None], list[Any]]


def _has_value(inputs: list[Any]) -> bool:
    # FHIR's hasValue(): a single primitive that carries a value (fhirpathpy 2.2 lacks it).
    if len(inputs) != 1:
        return False
    value = inputs[0]
    return value is not None and (isinstance(value, FP_Type) or not isinstance(value, (dict, list)))


def _quiet_trace(label: str, value: Any) -> None:
    # trace() in invariants (e.g. ref-1) would otherwise print to stdout on every write.
    return None


_OPTIONS = {"userInvocationTable": {"hasValue": {"fn": _has_value, "arity": {0: []}}}, "traceFn": _quiet_trace}


@lru_cache(maxsize=None)
def compile_expression(expression: str) -> Compiled:
    """Parse once; the result is called with (node, variables) for every element checked."""
    return fp_compile(expression, model=R4_MODEL, options=_OPTIONS)


def node(data: dict[str, Any], path: str) -> ResourceNode:
    """Wrap an element so fhirpathpy knows its type path (needed for choice types such as ``value``)."""
    return ResourceNode.create_node(data, path)


def passes(result: list[Any]) -> bool:
    """An invariant holds unless it yields false; empty (e.g. dates of different precision) is not a failure."""
    return not (len(result) == 1 and result[0] is False)
