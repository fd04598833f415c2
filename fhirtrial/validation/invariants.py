"""The StructureDefinitions' invariants (``constraint.expression``), https://hl7.org/fhir/R4/conformance-rules.html#constraints.

Each expression is compiled once with fhirpathpy. For speed, an invariant is only evaluated on an element that
has one of the properties the expression names, when it holds on an empty element anyway: an expression that
reads only those properties gives the same answer on both. Expressions that can see more (root-level function
calls, ``$this``, ``%`` variables) are always evaluated. Skipped invariants are listed in
definitions/invariants-r4.json ("skipped") with the reason; ele-1 is checked natively in traversal.py and
ref-1 in references.py. Expressions that only test which properties exist (e.g. ext-1) are cached per set of
present properties.
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
# Names read from the element itself: identifiers not reached through a dot.
_ROOT_IDENT = re.compile(r"(?<![.\w`$%])(`[^`]*`|[A-Za-z_][A-Za-z0-9_]*)")
# Expressions made only of ``name.exists()`` / ``name.empty()`` and boolean logic depend only on which
# properties are present, so their result can be cached per set of present properties (e.g. ext-1).
_PRESENCE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.(?:exists|empty)\(\)")
_LOGIC = re.compile(r"^(?:\s|[()]|and|or|xor|implies|not\(\)|\.|!=|=)*$")
# A function called on the element itself, or variables: the expression may see properties it does not name.
_OPAQUE = re.compile(r"(?<![.\w])[A-Za-z]+\(|\$this|%(?!ucum\b)")
# Types fhirpathpy's R4 model knows under another name.
_MODEL_PATH = {"SimpleQuantity": "Quantity", "MoneyQuantity": "Quantity"}
_PROFILE_BASE = {"SimpleQuantity": "Quantity", "MoneyQuantity": "Quantity"}


@dataclass
class Invariant:
    """One compiled constraint as it applies to one element type."""

    key: str
    human: str
    expression: str
    fn: Compiled
    trigger: frozenset[str] | None  # evaluate only when the element has one of these; None: always
    by_presence: dict[frozenset[str], bool] | None  # cached results of presence-only expressions

    def failed(self, data: dict[str, Any], model_path: str, variables: dict[str, Any]) -> bool:
        trigger = self.trigger
        if self.by_presence is not None and trigger is not None:
            present = trigger.intersection(data)
            known = self.by_presence.get(present)
            if known is None:
                known = self.by_presence[present] = self._evaluate(data, model_path, variables)
            return known
        if trigger is not None and trigger.isdisjoint(data):
            return False
        return self._evaluate(data, model_path, variables)

    def _evaluate(self, data: dict[str, Any], model_path: str, variables: dict[str, Any]) -> bool:
        try:
            return not passes(self.fn(node(data, model_path), variables))
        except Exception:  # noqa: BLE001 - an engine failure must not reject the resource
            log.debug("invariant %s could not be evaluated at %s", self.key, model_path, exc_info=True)
            return False


def _compile(tables: Tables, type_key: str, c: dict[str, str]) -> Invariant:
    expression = c["expression"]
    fn = compile_expression(expression)
    bare = _STRING.sub("''", expression)
    opaque = bool(_OPAQUE.search(bare))
    names = {m.strip("`") for m in _ROOT_IDENT.findall(bare)}
    keys: set[str] = set()
    for json_name, child in tables.types.get(type_key, {}).items():
        base = child.path.rsplit(".", 1)[-1].removesuffix("[x]")
        if base in names or json_name in names:
            keys.update((json_name, f"_{json_name}"))
    trigger: frozenset[str] | None = None if opaque else frozenset(keys)
    presence_only = not opaque and bool(_LOGIC.match(_PRESENCE.sub("", bare)))
    if trigger is not None and not presence_only:
        try:
            holds_when_empty = passes(fn(node({}, _MODEL_PATH.get(type_key, type_key)),
                                         {"resource": {}, "rootResource": {}}))
        except Exception:  # noqa: BLE001
            holds_when_empty = False
        if not holds_when_empty:
            trigger = None  # it fails on an empty element: it must run on every element
    return Invariant(c["key"], c["human"], expression, fn, trigger, {} if presence_only else None)


@lru_cache(maxsize=None)
def invariants_for(tables: Tables, type_key: str, path: str) -> tuple[Invariant, ...]:
    """The invariants of an element: those of its type (and the type's base) and of its own path."""
    owners = [type_key, _PROFILE_BASE.get(type_key), path if path != type_key else None]
    out: dict[str, Invariant] = {}
    for owner in owners:
        for c in tables.invariants.get(owner or "", ()):
            if c["key"] in out:
                continue
            out[c["key"]] = _compile(tables, type_key, c)
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
