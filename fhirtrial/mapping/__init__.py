"""ClinicalTrials.gov API v2 study records -> FHIR R4 resources, https://hl7.org/fhir/R4/researchstudy.html."""
from __future__ import annotations

from .bundle import MappedStudy
from .errors import MappingError, MappingTableError
from .study import map_study
from .tables import Tables, get_tables, load_tables

__all__ = ["MappedStudy", "MappingError", "MappingTableError", "Tables", "get_tables", "load_tables", "map_study"]
