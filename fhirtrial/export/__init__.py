"""Export: study Bundles ($everything, ``fhirtrial export --study``), NDJSON (``fhirtrial export --all``) and
Bulk Data ``$export`` jobs, https://hl7.org/fhir/uv/bulkdata/export.html."""
