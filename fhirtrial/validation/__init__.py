"""Validation of incoming resources, https://hl7.org/fhir/R4/validation.html."""
from .fast_structure import check_structure_fast as check_structure
from .validator import MODES, STRICTNESS, strictness_of, validate, validate_content, validate_resource, write_issues

__all__ = ["MODES", "STRICTNESS", "check_structure", "strictness_of", "validate", "validate_content",
           "validate_resource", "write_issues"]
