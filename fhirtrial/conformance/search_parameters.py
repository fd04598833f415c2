"""Our trial SearchParameters (search/definitions/trial-search-parameters.json), https://hl7.org/fhir/R4/searchparameter.html."""
from __future__ import annotations

from typing import Any, Iterator

from ..search.registry import load_trial_definitions


def search_parameters() -> Iterator[dict[str, Any]]:
    yield from load_trial_definitions()
