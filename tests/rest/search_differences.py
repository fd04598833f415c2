"""Queries where our search and @medplum/fhir-router 4.5.2 (MemoryRepository) may legitimately return different
ids, and why. Each entry is (regular expression over the query, reason).

test_search_differential.py allows a difference (or an error on one side) only for queries matching an entry,
and checks every entry is still needed. In every case listed here we follow the R4 text
(https://hl7.org/fhir/R4/search.html); the other side is Medplum's in-memory matcher, which is simpler than
its SQL one.
"""
from __future__ import annotations

import re

ALLOWED: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(PlanDefinition\?title|Location\?(name|address-state|address-postalcode))(:exact)?="),
     "string search: R4 matches values that START with the text (:exact the whole value, case-sensitive); "
     "Medplum's in-memory matcher tests 'contains' for both, so it also returns 'West Virginia' for "
     "address-state=Virgin, '43100' for address-postalcode:exact=3100, 'Pilot ... Study' for title=Study."),
    (re.compile(r"^Location\?address(:exact|:contains)?="),
     "address on an Address: R4 leaves the parts server-defined ('may match any of the string fields ... line, "
     "city, district, state, country, postalCode, and/or text'); we match each part (country included, so "
     "address=Austri finds Austrian sites), Medplum matches a formatted address without the country, and with "
     "'contains' semantics (see above)."),
    (re.compile(r"^(ResearchStudy\?date|DocumentReference\?period)=\d{4}(&|$)"),
     "date eq against a Period: R4 says eq matches when the search range fully CONTAINS the target's range "
     "(a study running 2005-2012 is not 'date=2010'); Medplum's in-memory matcher tests overlap."),
    (re.compile(r"^Condition\?(abatement-age|abatement-string|onset-age|onset-info):missing="),
     ":missing on a choice-type parameter (Condition.abatement.as(Age), onset.as(string)...): R4 evaluates the "
     "parameter's expression, which is empty for an onsetDateTime/abatementDateTime, so missing=true matches; "
     "Medplum checks whether the underlying choice element (onset[x]/abatement[x]) is present at all."),
    (re.compile(r"^Observation\?(value-quantity|component-value-quantity|combo-value-quantity)="),
     "quantity search: Medplum's in-memory matcher does not implement quantity comparisons (it returns nothing "
     "for value-quantity=72 on an Observation with valueQuantity 72 /min); ours follows the R4 prefix and "
     "precision rules, including system|code units."),
]


def reason_for(query: str) -> str | None:
    for pattern, reason in ALLOWED:
        if pattern.search(query):
            return reason
    return None
