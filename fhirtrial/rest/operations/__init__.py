"""FHIR operations (``$name``), https://hl7.org/fhir/R4/operations.html."""
