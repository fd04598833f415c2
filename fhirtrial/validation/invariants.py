"""The StructureDefinitions' invariants (``constraint.expression``), https://hl7.org/fhir/R4/conformance-rules.html#constraints.

Each expression is compiled once with fhirpathpy. For speed, an invariant is only evaluated on an element that
has one of the properties the expression names, when it holds on an empty element anyway: an expression that
reads only those properties gives the same answer on both. Expressions that can see more (root-level function
calls, ``$this``, ``%`` variables) are always evaluated. Skipped invariants are listed in
definitions/invariants-r4.json ("skipped") with the reason; ele-1 is checked natively in traversal.py.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

from ..errors import Issue
from .fhirpath import Compiled, compile_expression, node, passes
from .tables import Tables
from .traversal import Node

log = logging.getLogger(__name__)

_STRING = re.compile(r"'(?:[^'\\]|\\.)*'")
_IDENT = re.compile(r"`[^`]*`|[A-Za-z_][A-Za-z0-9_]*")
# A function called on the element itself, or variables: the expression may see properties it does not name.
_OPAQUE = re.compile(r"(?<![.\w])[A-Za-z]+\(|\$this|%(?!ucum\b)")
# Types fhirpathpy's R4 model knows under another name.
_MODEL_PATH = {"SimpleQuantity": "Quantity", "MoneyQuantity": "Quantity"}
_PROFILE_BASE = {"SimpleQuantity": "Quantity", "MoneyQuantity": "Quantity"}


@dataclass(frozen=True)
class Invariant:
    """One compiled constraint as it applies to one element type."""

    key: str
    human: str
    expression: str
    fn: Compiled
    trigger: frozenset[str] | None  # evaluate only when the element has one of these; None: always

    def failed(self, data: dict[str, Any], model_path: str, variables: dict[str, Any]) -> bool:
        if self.trigger is not None and self.trigger.isdisjoint(data):
            return False
        try:
            return not passes(self.fn(node(data, model_path), variables))
        except Exception:  # noqa: BLE001 - an engine failure must not reject the resource
            log.debug("invariant %s could not be evaluated at %s", self.key, model_path, exc_info=True)
            return False


def _trigger(tables: Tables, type_key: str, expression: str, fn: Compiled) -> frozenset[str] | None:
    bare = _STRING.sub("''", expression)
    if _OPAQUE.search(bare):
        return None
    model_path = _MODEL_PATH.get(type_key, type_key)
    try:
        if not passes(fn(node({}, model_path), {"resource": {}, "rootResource": {}})):
            return None  # fails when empty: it must run on every element
    except Exception:  # noqa: BLE001
        return None
    names = {m.strip("`") for m in _IDENT.findall(bare)}
    keys = set()
    for json_name, child in tables.types.get(type_key, {}).items():
        base = child.path.rsplit(".", 1)[-1].removesuffix("[x]")
        if base in names or json_name in names:
            keys.update((json_name, f"_{json_name}"))
    return frozenset(keys)


@lru_cache(maxsize=None)
def invariants_for(tables: Tables, type_key: str, path: str) -> tuple[Invariant, ...]:
    """The invariants of an element: those of its type (and the type's base) and of its own path."""
    owners = [type_key, _PROFILE_BASE.get(type_key), path if path != type_key else None]
    out: dict[str, Invariant] = {}
    for owner in owners:
        for c in tables.invariants.get(owner or "", ()):
            if c["key"] in out:
                continue
            fn = compile_expression(c["expression"])
            out[c["key"]] = Invariant(c["key"], c["human"], c["expression"], fn,
                                      _trigger(tables, type_key, c["expression"], fn))
    return tuple(out.values())


def check_invariants(tables: Tables, nodes: Iterable[Node], resource: dict[str, Any]) -> list[Issue]:
    """One issue per element on which an invariant is false."""
    variables = {"resource": resource, "rootResource": resource}
    issues: list[Issue] = []
    for n in nodes:
        model_path = _MODEL_PATH.get(n.type, n.type)
        for inv in invariants_for(tables, n.type, n.path):
            if inv.failed(n.data, model_path, variables):
                issues.append(Issue("error", "invariant", f"Constraint failed: {inv.key}: {inv.human} "
                                    f"(expression: {inv.expression})", (n.expression,)))
    return issues
