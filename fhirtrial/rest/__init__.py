"""FHIR RESTful API over HTTP, https://hl7.org/fhir/R4/http.html."""
