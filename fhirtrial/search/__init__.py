"""FHIR search, independent of storage: parameter registry, query parsing, index extraction.

https://hl7.org/fhir/R4/search.html
"""
