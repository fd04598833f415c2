"""Validation of incoming resources, https://hl7.org/fhir/R4/validation.html."""
from .structure import check_structure
from .validator import MODES, validate, validate_content, validate_resource

__all__ = ["MODES", "check_structure", "validate", "validate_content", "validate_resource"]
