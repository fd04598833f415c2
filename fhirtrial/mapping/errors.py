"""The error a study record raises when it cannot be mapped, https://hl7.org/fhir/R4/operationoutcome.html."""
from __future__ import annotations

from ..errors import UnprocessableEntity


class MappingError(UnprocessableEntity):
    """A ClinicalTrials.gov record that cannot become FHIR; the message names the study and the field."""

    def __init__(self, nct_id: str | None, field: str, problem: str) -> None:
        self.nct_id = nct_id
        self.field = field
        self.problem = problem
        super().__init__(f"study {nct_id or '(unknown NCT id)'}: field {field}: {problem}", expression=field)


class MappingTableError(ValueError):
    """A mapping table in mappings/ that names a field, enum value or code that does not exist."""
