"""The StructureDefinitions' invariants (``constraint.expression``), https://hl7.org/fhir/R4/conformance-rules.html#constraints.

Each expression is compiled once with fhirpathpy. An expression that only reads the element's own properties
(no function called on the element itself, no ``$this``, no ``%`` variable) is evaluated:
- not at all on an element that has none of the properties it names, when it holds on an empty element anyway;
- once per number of values of each property it names, when it only counts them (``x.exists()``, ``x.empty()``,
  ``x.count()``: ext-1, org-1...);
- once per value of the properties it names, when they are all primitives (per-1 on a Period of two dates...).
Other expressions are evaluated on every element. Skipped invariants are listed in
definitions/invariants-r4.json ("skipped") with the reason; ele-1 is checked natively in fast_structure.py and
ref-1 in references.py. An expression fhirpathpy fails to evaluate is an error of the validator: logged and
reported as an ``exception`` issue on the element, never taken as passed.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

from ..errors import Issue
from .fast_structure import Node
from .fhirpath import Compiled, compile_expression, node, passes
from .tables import Tables

log = logging.getLogger(__name__)

_STRING = re.compile(r"'(?:[^'\\]|\\.)*'")
# Names read from the element itself: identifiers not reached through a dot.
_ROOT_IDENT = re.compile(r"(?<![.\w`$%])(`[^`]*`|[A-Za-z_][A-Za-z0-9_]*)")
# Expressions made only of ``name.exists()`` / ``.empty()`` / ``.count()``, numbers, arithmetic, comparison and
# boolean logic depend only on how many values each property has (e.g. ext-1, org-1).
_COUNTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.(?:exists|empty|count)\(\)")
_COUNT_LOGIC = re.compile(r"^(?:\s|[()]|and|or|xor|implies|not\(\)|\.|!=|<=|>=|[=<>+\-]|\d+)*$")
# A function called on the element itself, or variables: the expression may see properties it does not name.
_OPAQUE = re.compile(r"(?<![.\w])[A-Za-z]+\(|\$this|%(?!ucum\b)")
# Types fhirpathpy's R4 model knows under another name.
_MODEL_PATH = {"SimpleQuantity": "Quantity", "MoneyQuantity": "Quantity"}
_PROFILE_BASE = {"SimpleQuantity": "Quantity", "MoneyQuantity": "Quantity"}
_PRIMITIVE = (str, bool, int, float, type(None))
_MEMO_MAX = 4096

# What one evaluation gives: True (the invariant holds), False (it fails) or the engine's error message.
Outcome = bool | str


def _count(value: Any) -> int:
    return 0 if value is None else len(value) if type(value) is list else 1


@dataclass(eq=False)
class Invariant:
    """One compiled constraint as it applies to one element type."""

    key: str
    human: str
    expression: str
    fn: Compiled
    names: tuple[str, ...]  # the JSON properties (and _twins) it reads; () when opaque
    named: frozenset[str]  # the same, as a set
    opaque: bool  # it may read more than ``names``: evaluated on every element, never memoized
    skip_absent: bool  # holds when none of ``names`` is present, so it is not evaluated then
    counted: bool  # depends only on how many values each of ``names`` has
    present: bool  # depends only on which of ``names`` are present (a set intersection is the memo key)
    memo: dict[Any, Outcome] = field(default_factory=dict)

    def outcome(self, data: dict[str, Any], model_path: str, variables: dict[str, Any]) -> Outcome:
        if self.opaque:
            return self._evaluate(data, model_path, variables)
        if self.skip_absent and self.named.isdisjoint(data):
            return True
        key = self._memo_key(data)
        if key is None:
            return self._evaluate(data, model_path, variables)
        known = self.memo.get(key)
        if known is None:
            if len(self.memo) >= _MEMO_MAX:
                self.memo.clear()
            known = self.memo[key] = self._evaluate(data, model_path, variables)
        return known

    def _memo_key(self, data: dict[str, Any]) -> tuple[Any, ...] | frozenset[str] | None:
        """What the result depends on: the properties present among ``names`` (the element's few keys are
        walked, not the many choice names) with their counts, or their primitive values and types (True == 1
        in Python)."""
        named = self.named
        if self.present:
            return named.intersection(data)  # type: ignore[return-value]
        if self.counted:
            return tuple((k, _count(v)) for k, v in data.items() if k in named)
        key: list[Any] = []
        for k, v in data.items():
            if k in named:
                if not isinstance(v, _PRIMITIVE):
                    return None
                key += (k, type(v), v)
        return tuple(key)

    def _evaluate(self, data: dict[str, Any], model_path: str, variables: dict[str, Any]) -> Outcome:
        try:
            return passes(self.fn(node(data, model_path), variables))
        except Exception as exc:  # noqa: BLE001 - reported as the validator's own error, never as passed
            log.error("invariant %s could not be evaluated on a %s: %s: %s", self.key, model_path,
                      type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            return f"{type(exc).__name__}: {exc}"


def _compile(tables: Tables, type_key: str, c: dict[str, str]) -> Invariant:
    expression = c["expression"]
    fn = compile_expression(expression)
    bare = _STRING.sub("''", expression)
    opaque = bool(_OPAQUE.search(bare))
    idents = {m.strip("`") for m in _ROOT_IDENT.findall(bare)}
    keys: set[str] = set()
    for json_name, child in tables.types.get(type_key, {}).items():
        base = child.path.rsplit(".", 1)[-1].removesuffix("[x]")
        if base in idents or json_name in idents:
            keys.update((json_name, f"_{json_name}"))
    names = () if opaque else tuple(sorted(keys))
    counted = not opaque and bool(_COUNT_LOGIC.match(_COUNTED.sub("", bare)))
    present = counted and ".count()" not in bare
    skip_absent = False
    if not opaque:
        try:
            skip_absent = passes(fn(node({}, _MODEL_PATH.get(type_key, type_key)),
                                    {"resource": {}, "rootResource": {}}))
        except Exception:  # noqa: BLE001 - it cannot be skipped; evaluating it on each element reports the error
            skip_absent = False
    return Invariant(c["key"], c["human"], expression, fn, names, frozenset(names), opaque, skip_absent, counted,
                     present)


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


def model_path(type_key: str) -> str:
    """The type name fhirpathpy's R4 model knows ``type_key`` by."""
    return _MODEL_PATH.get(type_key, type_key)


def check_element(invariants: tuple[Invariant, ...], data: dict[str, Any], type_name: str, expression: str,
                  variables: dict[str, Any], issues: list[Issue]) -> None:
    """Append one issue per invariant that is false on the element, or cannot be evaluated."""
    for inv in invariants:
        if inv.skip_absent and inv.named.isdisjoint(data):  # inline: most elements name none of its properties
            continue
        outcome = inv.outcome(data, type_name, variables)
        if outcome is True:
            continue
        if outcome is False:
            issues.append(Issue("error", "invariant", f"Constraint failed: {inv.key}: {inv.human} "
                                f"(expression: {inv.expression})", (expression,)))
        else:
            issues.append(Issue("error", "exception", f"The invariant {inv.key} could not be evaluated at "
                                f"'{expression}' ({outcome}); the element is not known to be valid "
                                f"(expression: {inv.expression})", (expression,)))


def check_invariants(tables: Tables, nodes: Iterable[Node], resource: dict[str, Any]) -> list[Issue]:
    """One issue per element on which an invariant is false, or cannot be evaluated."""
    variables = {"resource": resource, "rootResource": resource}
    issues: list[Issue] = []
    for data, type_key, path, expression in nodes:
        invariants = invariants_for(tables, type_key, path)
        if invariants:
            check_element(invariants, data, model_path(type_key), expression, variables, issues)
    return issues
