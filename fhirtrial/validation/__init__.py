"""Validation of incoming resources, https://hl7.org/fhir/R4/validation.html."""
from .structure import check_structure, validate_resource

__all__ = ["check_structure", "validate_resource"]
