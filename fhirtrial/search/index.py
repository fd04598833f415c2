"""Index entries extracted from a resource, one dataclass per search-parameter type.

https://hl7.org/fhir/R4/search.html#ptypes -- the store keeps one table per type (like HAPI's HFJ_SPIDX_*).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class TokenEntry:
    param: str
    system: str | None
    code: str | None
    # Display/text used by the :text modifier, normalised (casefolded, accents stripped).
    text: str | None = None


@dataclass(frozen=True, slots=True)
class StringEntry:
    param: str
    # Casefolded and accent-stripped, for the default starts-with and :contains matches.
    normalized: str
    # The value as written, for :exact.
    exact: str


@dataclass(frozen=True, slots=True)
class DateEntry:
    """A date, dateTime, instant, Period or Timing as the closed interval [low, high] in UTC."""

    param: str
    low: datetime
    high: datetime


@dataclass(frozen=True, slots=True)
class NumberEntry:
    """A number with the implicit range of its precision (https://hl7.org/fhir/R4/search.html#number)."""

    param: str
    value: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class QuantityEntry:
    param: str
    value: float
    low: float
    high: float
    system: str | None
    code: str | None
    unit: str | None


@dataclass(frozen=True, slots=True)
class ReferenceEntry:
    """A reference: local targets carry type and id; others only the absolute or canonical URL."""

    param: str
    target_type: str | None
    target_id: str | None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class UriEntry:
    param: str
    uri: str


@dataclass(frozen=True, slots=True)
class PositionEntry:
    """A WGS84 point (Location.position) for ``near``: bounding box on (latitude, longitude), then great-circle."""

    param: str
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class SiteEntry:
    """A coded value on a reference and the resource it references, from the same element: ResearchStudy.site
    with this study's recruitment status there (composite ``site-status-near``). The position comes from the
    referenced Location's own ``near`` rows at query time, so a Location shared by many studies is indexed once."""

    param: str
    target_type: str | None
    target_id: str | None
    system: str | None
    code: str | None


@dataclass(frozen=True, slots=True)
class CompositeEntry:
    """One combination of component values taken from the same element (https://hl7.org/fhir/R4/search.html#composite).

    Each component is an entry of its own type whose ``param`` is the component parameter's code.
    """

    param: str
    components: tuple[Any, ...]


@dataclass(slots=True)
class ResourceIndex:
    """Everything the store writes beside one resource version, in the same transaction."""

    tokens: list[TokenEntry] = field(default_factory=list)
    strings: list[StringEntry] = field(default_factory=list)
    dates: list[DateEntry] = field(default_factory=list)
    numbers: list[NumberEntry] = field(default_factory=list)
    quantities: list[QuantityEntry] = field(default_factory=list)
    references: list[ReferenceEntry] = field(default_factory=list)
    uris: list[UriEntry] = field(default_factory=list)
    positions: list[PositionEntry] = field(default_factory=list)
    composites: list[CompositeEntry] = field(default_factory=list)
    sites: list[SiteEntry] = field(default_factory=list)
    # Full text for _text (narrative) and _content (whole resource), fed to FTS5 / tsvector.
    text: str = ""
    content: str = ""


# Search parameter type -> the ResourceIndex attribute that holds its entries (matching reads them in memory; the
# store keeps each attribute's rows in one table: store/schema.INDEX_TABLES and idx_composite).
ROWS_BY_TYPE: dict[str, str] = {
    "token": "tokens", "string": "strings", "date": "dates", "number": "numbers", "quantity": "quantities",
    "reference": "references", "uri": "uris", "special": "positions", "composite": "composites", "site": "sites",
}


class Indexer(Protocol):
    """Turns a resource (as JSON) into its index entries; pure, so it can run anywhere."""

    def index(self, resource: dict[str, Any]) -> ResourceIndex: ...


class NoIndexer:
    """Indexes nothing; stands in until the parameter registry is loaded."""

    def index(self, resource: dict[str, Any]) -> ResourceIndex:
        return ResourceIndex()
