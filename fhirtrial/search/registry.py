"""Search parameters per served type, from the official R4 definitions plus ours (https://hl7.org/fhir/R4/searchparameter.html)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from fhirtrial.resources import SERVED_TYPES
from fhirtrial.search.fhirpath_syntax import split_union

DEFINITIONS = Path(__file__).with_name("definitions")
R4_FILE = DEFINITIONS / "search-parameters-r4.json"
TRIAL_FILE = DEFINITIONS / "trial-search-parameters.json"

# Modifiers the R4 spec allows per parameter type (https://hl7.org/fhir/R4/search.html#modifiers);
# the R4 bundle carries no `modifier` lists, so these defaults apply unless a definition says otherwise.
DEFAULT_MODIFIERS: dict[str, tuple[str, ...]] = {
    "string": ("missing", "exact", "contains"),
    "token": ("missing", "text", "not", "in", "not-in", "of-type"),  # above/below need a terminology server
    "reference": ("missing", "identifier", "above", "below"),  # and :[type], the name of a target type
    "date": ("missing",),
    "number": ("missing",),
    "quantity": ("missing",),
    "uri": ("missing", "below", "above"),
    "composite": ("missing",),
    "special": ("missing",),
}
PREFIXED_TYPES = frozenset({"date", "number", "quantity"})
ALL_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
# Numbers whose index holds a range and whose query value must fall inside it (not the spec's default).
RANGE_CONTAINS_CODES = frozenset({"eligible-age"})
_DESCRIPTION_LINE = re.compile(r"^\* \[([A-Za-z]+)\]\([^)]*\): (.*)$")
_ROOT_TYPE = re.compile(r"^\(*\s*([A-Za-z]+)")


@dataclass(frozen=True, slots=True)
class Component:
    definition: str  # canonical URL of the component's own parameter
    expression: str  # relative to each item the composite's expression selects


@dataclass(frozen=True, slots=True)
class SearchParam:
    resource_type: str  # the type it applies to ("Resource" for the common ones)
    code: str
    type: str  # number | date | string | token | reference | composite | quantity | uri | special
    url: str  # definition URL, as listed in the CapabilityStatement
    expression: str | None  # FHIRPath restricted to resource_type; None for _text/_content
    targets: tuple[str, ...] = ()
    modifiers: tuple[str, ...] = ()
    comparators: tuple[str, ...] = ()
    multiple_or: bool = True
    multiple_and: bool = True
    chains: tuple[str, ...] = ()
    components: tuple[Component, ...] = ()
    documentation: str = ""
    # eligible-age style: query value must lie within the indexed [low, high].
    range_contains: bool = False

    @property
    def sortable(self) -> bool:
        return self.type in ("string", "token", "date", "number", "quantity", "reference", "uri")


def _documentation(description: str, resource_type: str) -> str:
    for line in description.replace("\r\n", "\n").split("\n"):
        if (m := _DESCRIPTION_LINE.match(line.strip())) and m[1] == resource_type:
            return m[2].strip()
    return description.strip()


def _for_type(expression: str | None, resource_type: str) -> str | None:
    if expression is None or resource_type == "Resource":
        return expression
    parts = [p for p in split_union(expression) if (m := _ROOT_TYPE.match(p)) and m[1] in (resource_type, "Resource")]
    return " | ".join(parts) or None


def _params_from(definition: dict[str, Any]) -> Iterable[SearchParam]:
    ptype = definition["type"]
    for base in definition["base"]:
        resource_type = "Resource" if base in ("Resource", "DomainResource") else base
        yield SearchParam(
            resource_type=resource_type,
            code=definition["code"],
            type=ptype,
            url=definition["url"],
            expression=_for_type(definition.get("expression"), resource_type),
            targets=tuple(definition.get("target", ())),
            modifiers=tuple(definition.get("modifier") or DEFAULT_MODIFIERS.get(ptype, ("missing",))),
            comparators=tuple(definition.get("comparator") or (ALL_PREFIXES if ptype in PREFIXED_TYPES else ())),
            multiple_or=definition.get("multipleOr", True),
            multiple_and=definition.get("multipleAnd", True),
            chains=tuple(definition.get("chain", ())),
            components=tuple(Component(c["definition"], c["expression"]) for c in definition.get("component", ())),
            documentation=_documentation(definition.get("description", ""), base),
            range_contains=definition["code"] in RANGE_CONTAINS_CODES,
        )


def load_trial_definitions() -> list[dict[str, Any]]:
    data = json.loads(TRIAL_FILE.read_text(encoding="utf-8"))
    return [e["resource"] for e in data["entry"]] if isinstance(data, dict) else list(data)


class Registry:
    """Lookup of parameters by (type, code); the common Resource parameters apply to every type."""

    def __init__(self, definitions: Iterable[dict[str, Any]]) -> None:
        self._by_type: dict[str, dict[str, SearchParam]] = {}
        self._by_url: dict[str, SearchParam] = {}
        for definition in definitions:
            for param in _params_from(definition):
                # Later definitions (ours) win over earlier ones with the same code.
                self._by_type.setdefault(param.resource_type, {})[param.code] = param
                self._by_url.setdefault(param.url, param)

    def get(self, resource_type: str, code: str) -> SearchParam | None:
        found = self._by_type.get(resource_type, {}).get(code)
        return found if found is not None else self._by_type.get("Resource", {}).get(code)

    def for_type(self, resource_type: str) -> list[SearchParam]:
        """Every parameter of a type, common ones included, sorted by code."""
        merged = {**self._by_type.get("Resource", {}), **self._by_type.get(resource_type, {})}
        return sorted(merged.values(), key=lambda p: p.code)

    def by_url(self, url: str) -> SearchParam | None:
        return self._by_url.get(url)

    def component_params(self, param: SearchParam) -> list[SearchParam]:
        """The parameters a composite's components refer to, in order (restricted to the composite's type)."""
        out = []
        for comp in param.components:
            ref = self._by_url.get(comp.definition)
            if ref is None:
                raise KeyError(f"{param.url}: unknown component {comp.definition}")
            out.append(self.get(param.resource_type, ref.code) or ref)
        return out

    def is_site_composite(self, param: SearchParam) -> bool:
        """A composite of a token and the ``near`` position of the resource its element references (e.g.
        ``site-status-near``: a study's status at a site, and where that site is), indexed as SiteEntry rows."""
        if param.type != "composite" or len(param.components) != 2:
            return False
        first, second = self.component_params(param)
        return first.type == "token" and second.type == "special" and second.code == "near"

    @property
    def resource_types(self) -> tuple[str, ...]:
        return tuple(t for t in SERVED_TYPES if t in self._by_type or "Resource" in self._by_type)


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The official R4 parameters of the served types plus fhirtrial's trial parameters."""
    r4 = json.loads(R4_FILE.read_text(encoding="utf-8"))
    return Registry([*r4, *load_trial_definitions()])
