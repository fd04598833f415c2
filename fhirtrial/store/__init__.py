"""Persistence of versioned FHIR resources, https://hl7.org/fhir/R4/http.html#versioning."""
