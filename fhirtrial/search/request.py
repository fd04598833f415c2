"""A parsed search, independent of storage (https://hl7.org/fhir/R4/search.html).

Filters are ANDed; the values of one filter are ORed. The SQL layer translates these, it never sees raw text.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Union
from urllib.parse import quote

from fhirtrial.search.geo import BoundingBox
from fhirtrial.search.textquery import Node

Prefix = Literal["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"]


@dataclass(frozen=True, slots=True)
class TokenValue:
    """``code`` (any system), ``system|code``, ``|code`` (no system: system None, match_system True), ``system|``."""

    system: str | None
    code: str | None
    match_system: bool


@dataclass(frozen=True, slots=True)
class OfTypeValue:
    """``:of-type`` = type-system|type-code|value; matches token rows ``<param>:of-type`` (code "type|value")."""

    system: str | None
    type_code: str
    value: str


@dataclass(frozen=True, slots=True)
class TextValue:
    """For string params and token ``:text``: compare against normalised text (see normalize.normalize)."""

    text: str  # as sent
    normalized: str


@dataclass(frozen=True, slots=True)
class TextQueryValue:
    """A _text/_content value: the text as sent and its boolean query (textquery.py)."""

    text: str
    query: Node


@dataclass(frozen=True, slots=True)
class DateValue:
    prefix: Prefix
    low: datetime
    high: datetime


@dataclass(frozen=True, slots=True)
class NumberValue:
    prefix: Prefix
    value: float
    low: float  # the precision range of the value as written
    high: float


@dataclass(frozen=True, slots=True)
class QuantityValue:
    prefix: Prefix
    value: float
    low: float
    high: float
    system: str | None
    code: str | None  # matched against code, or unit when no system is given


@dataclass(frozen=True, slots=True)
class ReferenceValue:
    """Local targets have id (and type when known); other absolute URLs and canonicals only ``url``."""

    target_type: str | None
    target_id: str | None
    url: str | None


@dataclass(frozen=True, slots=True)
class UriValue:
    uri: str


@dataclass(frozen=True, slots=True)
class NearValue:
    latitude: float
    longitude: float
    distance_km: float
    box: BoundingBox


@dataclass(frozen=True, slots=True)
class MissingValue:
    missing: bool


@dataclass(frozen=True, slots=True)
class CompositeValue:
    components: tuple["Value", ...]  # one per component, typed by the component parameter


Value = Union[TokenValue, OfTypeValue, TextValue, TextQueryValue, DateValue, NumberValue, QuantityValue, ReferenceValue, UriValue,
              NearValue, MissingValue, CompositeValue]


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One hop. Forward: ``source_type.param`` references ``target_types``. Reverse (_has): resources of
    ``source_type`` whose ``param`` references the current resource (target_types then holds that type)."""

    source_type: str
    param: str
    target_types: tuple[str, ...]
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class Filter:
    name: str  # canonical parameter name as written in the query, modifiers and chains included
    resource_type: str  # type that owns ``param`` (the end of the chain)
    param: str
    type: str  # parameter type; "fulltext" for _text/_content
    modifier: str | None  # FHIR name ("missing", "exact", ...) or a resource type for reference :Type
    values: tuple[Value, ...]  # ORed
    raw: tuple[str, ...]  # the values as sent (escapes kept), for the self link
    chain: tuple[ChainLink, ...] = ()
    range_contains: bool = False  # eligible-age: query number must lie in the indexed [low, high]


@dataclass(frozen=True, slots=True)
class SortKey:
    param: str  # a parameter code, or "_score" for full-text rank
    type: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Include:
    """``_include=source:param[:target]`` / ``_revinclude``; ``param`` "*" means every reference parameter."""

    source_type: str
    param: str
    target_type: str | None
    reverse: bool = False
    iterate: bool = False


@dataclass(frozen=True, slots=True)
class Ignored:
    name: str
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class SearchRequest:
    resource_type: str | None  # None for a system search
    filters: tuple[Filter, ...] = ()
    sort: tuple[SortKey, ...] = ()
    count: int | None = None
    total: str | None = None  # none | estimate | accurate
    summary: str | None = None  # true | text | data | count | false
    elements: tuple[str, ...] = ()
    includes: tuple[Include, ...] = ()
    types: tuple[str, ...] = ()  # _type of a system search
    ignored: tuple[Ignored, ...] = ()
    passthrough: tuple[tuple[str, str], ...] = ()  # names the REST layer owns (_format, paging cursors...)

    def to_query_string(self) -> str:
        """The canonical query for ``self`` links: ignored parameters left out, values as parsed."""
        pairs: list[tuple[str, str]] = []
        if self.types:
            pairs.append(("_type", ",".join(self.types)))
        pairs += [(f.name, ",".join(f.raw)) for f in self.filters]
        if self.sort:
            pairs.append(("_sort", ",".join(("-" if k.descending else "") + k.param for k in self.sort)))
        if self.count is not None:
            pairs.append(("_count", str(self.count)))
        if self.total is not None:
            pairs.append(("_total", self.total))
        if self.summary is not None:
            pairs.append(("_summary", self.summary))
        if self.elements:
            pairs.append(("_elements", ",".join(self.elements)))
        for inc in self.includes:
            name = ("_revinclude" if inc.reverse else "_include") + (":iterate" if inc.iterate else "")
            value = f"{inc.source_type}:{inc.param}" + (f":{inc.target_type}" if inc.target_type else "")
            pairs.append((name, "*" if inc.param == "*" and inc.source_type == "*" else value))
        return "&".join(f"{quote(k, safe=':._-')}={quote(v, safe=':|,/$._-*')}" for k, v in pairs)
