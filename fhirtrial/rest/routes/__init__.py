"""HTTP routes of the FHIR API, https://hl7.org/fhir/R4/http.html."""
