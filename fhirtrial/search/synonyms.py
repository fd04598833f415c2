"""Condition text search through synonyms (https://hl7.org/fhir/R4/search.html#token ``:text``): a
``condition:text`` value also matches the entry terms of the concept it names, from the vocabulary the criteria
package ships (``fhirtrial.criteria.synonyms``: "coronavirus" finds studies of "COVID-19"). Expanded when the
query is parsed, so every engine and the in-memory oracle see the same ORed values."""
from __future__ import annotations

from fhirtrial.search.normalize import normalize
from fhirtrial.search.request import TextValue

# (resource type, parameter) whose :text values are expanded
EXPANDED = frozenset({("ResearchStudy", "condition")})
MAX_SYNONYMS = 50  # per value: a bounded OR, whatever the vocabulary returns


def expand(resource_type: str, param: str, values: tuple[TextValue, ...]) -> tuple[TextValue, ...]:
    """The values followed by their synonyms (each once, by normalised text)."""
    if (resource_type, param) not in EXPANDED:
        return values
    from fhirtrial import criteria  # the vocabulary loads on the first condition text search, not at import

    seen = {v.normalized for v in values}
    out = list(values)
    for v in values:
        for term in criteria.synonyms(v.text)[:MAX_SYNONYMS]:
            key = normalize(term) if isinstance(term, str) else ""
            if key and key not in seen:
                seen.add(key)
                out.append(TextValue(term, key))
    return tuple(out)


__all__ = ["EXPANDED", "MAX_SYNONYMS", "expand"]
