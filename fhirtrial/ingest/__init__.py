"""Reading ClinicalTrials.gov API v2 records for import, and synthesising them for scale (https://clinicaltrials.gov/data-api/api)."""
from __future__ import annotations

from .dedupe import dedupe_last_wins
from .items import Origin, SourceError, SourceItem
from .sources import iter_records

__all__ = ["Origin", "SourceError", "SourceItem", "dedupe_last_wins", "iter_records"]
