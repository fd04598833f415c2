"""fhirpathpy evaluation for expressions outside the fast subset (http://hl7.org/fhirpath/N1/).

fhirpathpy has no ``resolve()``; we supply one that finds contained or caller-provided resources, so both
evaluators see the same world. The current environment travels in a ContextVar because fhirpathpy's user
functions receive only their input.
"""
from __future__ import annotations

import re
from contextvars import ContextVar
from decimal import Decimal
from typing import Any, Callable

import fhirpathpy
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models

from fhirtrial.search.fhirpath_compile import Env
from fhirtrial.search.fhirpath_types import reference_type

_ENV: ContextVar[Env | None] = ContextVar("fhirtrial_fhirpath_env", default=None)


def _resolve(inputs: list[Any]) -> list[Any]:
    env = _ENV.get()
    out = []
    for ref in inputs:
        found = env.resolve(ref) if env is not None else None
        if found is None and (rtype := reference_type(ref)) is not None:
            found = {"resourceType": rtype}
        if found is not None:
            # A typed node, so that `is`/`ofType` see the resource type.
            out.append(ResourceNode.create_node(found))
    return out


_OPTIONS = {"userInvocationTable": {"resolve": {"fn": _resolve, "arity": {0: []}}}}


def _plain(value: Any) -> Any:
    """fhirpathpy hands back Decimals and its own node types; indexing wants plain JSON values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "convert_data"):
        return _plain(value.convert_data())
    return value


_EXTENSION_FUNCTION = re.compile(r"\.extension\(('(?:[^'\\]|\\.)*')\)")
_ABSTRACT_ROOT = re.compile(r"(?<![\w.])(?:Resource|DomainResource)\.")
_AS_OPERATOR = re.compile(r"\s+as\s+([A-Za-z.]+)\s*\)")
_AS_FUNCTION = re.compile(r"\.as\(")


def for_fhirpathpy(expression: str, resource_type: str) -> str:
    """Work around fhirpathpy 2.2 so that it means what the R4 definitions mean:

    - ``as`` applied to collections (``(Observation.component.value as Quantity)``) is an error in FHIRPath N1;
      read it as ``ofType``, as HAPI and the fast walkers do;
    - ``extension(url)`` returns only the first match; spell it ``extension.where(url = ...)``;
    - a leading ``Resource.``/``DomainResource.`` selects nothing; use the concrete type.
    """
    expression = _AS_FUNCTION.sub(".ofType(", _AS_OPERATOR.sub(r".ofType(\1))", expression))
    expression = _EXTENSION_FUNCTION.sub(r".extension.where(url = \1)", expression)
    return _ABSTRACT_ROOT.sub(resource_type + ".", expression)


def compile_fallback(expression: str, resource_type: str) -> Callable[[list[Any], Env], list[Any]]:
    """An evaluator with the fast walkers' signature, backed by fhirpathpy."""
    fn = fhirpathpy.compile(for_fhirpathpy(expression, resource_type), models["r4"], _OPTIONS)

    def evaluate(items: list[Any], env: Env) -> list[Any]:
        token = _ENV.set(env)
        try:
            return [_plain(v) for item in items for v in fn(item, {})]
        finally:
            _ENV.reset(token)
    return evaluate
